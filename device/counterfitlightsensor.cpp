#include "counterfitlightsensor.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <QUrlQuery>

#include <optional>

namespace nightlight {

namespace {

// The same category name as CounterFitLed's: one switch for both.
Q_LOGGING_CATEGORY(lcCounterFit, "nightlight.counterfit", QtInfoMsg)

// Bodies longer than this are not CounterFit's {"value": n}; only this much is read or quoted.
constexpr qint64 MaxBody = 4096;
constexpr qsizetype MaxQuoted = 120;

QString baseText(const QUrl &base)
{
    return base.toDisplayString(QUrl::RemoveUserInfo | QUrl::StripTrailingSlash);
}

// <base>/<route>?port=<pin>, keeping any path the base URL has.
QUrl endpoint(const QUrl &base, const QString &route, std::optional<int> port = std::nullopt)
{
    QUrl url = base;
    QString path = url.path();
    if (!path.endsWith(QLatin1Char('/'))) {
        path += QLatin1Char('/');
    }
    url.setPath(path + route);
    QUrlQuery query;
    if (port) {
        query.addQueryItem(QStringLiteral("port"), QString::number(*port));
    }
    url.setQuery(query);
    return url;
}

QNetworkRequest makeRequest(const QUrl &url, int timeoutMs)
{
    QNetworkRequest request(url);
    // Qt's own inactivity timeout; the object's deadline timer also bounds the whole exchange.
    request.setTransferTimeout(timeoutMs);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                         QNetworkRequest::SameOriginRedirectPolicy);
    return request;
}

QString quoted(const QByteArray &body)
{
    QString text = QString::fromUtf8(body.left(MaxQuoted)).simplified();
    if (body.size() > MaxQuoted) {
        text += QStringLiteral("...");
    }
    return text.isEmpty() ? QStringLiteral("(empty body)") : text;
}

// Empty when the reply is a 2xx answer, else what went wrong.
QString replyProblem(QNetworkReply *reply, bool timedOut, int timeoutMs, const QUrl &base)
{
    if (timedOut || reply->error() == QNetworkReply::OperationCanceledError) {
        return QStringLiteral("CounterFit at %1 did not answer: no answer within %2 ms")
            .arg(baseText(base))
            .arg(timeoutMs);
    }
    const QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
    if (status.isValid()) {
        const int code = status.toInt();
        if (code >= 200 && code < 300) {
            return {};
        }
        QString route = reply->url().path();
        if (reply->url().hasQuery()) {
            route += QLatin1Char('?') + reply->url().query();
        }
        return QStringLiteral("CounterFit at %1 answered HTTP %2 to %3: %4")
            .arg(baseText(base))
            .arg(code)
            .arg(route, quoted(reply->read(MaxBody)));
    }
    if (reply->error() != QNetworkReply::NoError) {
        return QStringLiteral("CounterFit at %1 did not answer: %2")
            .arg(baseText(base), reply->errorString());
    }
    return {};
}

} // namespace

CounterFitLightSensor::CounterFitLightSensor(const QUrl &baseUrl, int pin, QObject *parent)
    : LightSensor(parent),
      m_baseUrl(baseUrl),
      m_pin(pin),
      m_manager(new QNetworkAccessManager(this)),
      m_deadline(new QTimer(this))
{
    // CounterFit runs next to us: a system proxy (http_proxy) must not route loopback elsewhere.
    m_manager->setProxy(QNetworkProxy::NoProxy);
    m_deadline->setSingleShot(true);
    connect(m_deadline, &QTimer::timeout, this, [this] {
        if (m_reply) {
            m_timedOut = true;
            m_reply->abort(); // finished() follows synchronously
        }
    });
}

CounterFitLightSensor::~CounterFitLightSensor()
{
    if (m_reply) {
        // No slot of a half-destroyed object may run.
        disconnect(m_reply, nullptr, this, nullptr);
        m_reply->abort();
    }
}

void CounterFitLightSensor::setTimeout(int milliseconds)
{
    m_timeoutMs = qMax(1, milliseconds);
}

bool CounterFitLightSensor::isBusy() const
{
    return !m_reply.isNull();
}

void CounterFitLightSensor::requestReading()
{
    if (isBusy()) {
        return;
    }
    if (m_connected) {
        sendReading();
    } else {
        sendConnect();
    }
}

void CounterFitLightSensor::start(QNetworkReply *reply)
{
    m_reply = reply;
    m_timedOut = false;
    m_deadline->start(m_timeoutMs);
}

void CounterFitLightSensor::sendConnect()
{
    QNetworkRequest request =
        makeRequest(endpoint(m_baseUrl, QStringLiteral("connect")), m_timeoutMs);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("text/plain"));
    QNetworkReply *reply = m_manager->post(request, QByteArray());
    start(reply);
    connect(reply, &QNetworkReply::finished, this, &CounterFitLightSensor::onConnectFinished);
}

void CounterFitLightSensor::sendReading()
{
    QNetworkReply *reply = m_manager->get(
        makeRequest(endpoint(m_baseUrl, QStringLiteral("sensor_value"), m_pin), m_timeoutMs));
    start(reply);
    connect(reply, &QNetworkReply::finished, this, &CounterFitLightSensor::onReadingFinished);
}

void CounterFitLightSensor::onConnectFinished()
{
    QNetworkReply *reply = m_reply;
    m_deadline->stop();
    m_reply = nullptr;
    if (!reply) {
        return;
    }
    reply->deleteLater();
    const QString problem = replyProblem(reply, m_timedOut, m_timeoutMs, m_baseUrl);
    if (!problem.isEmpty()) {
        fail(problem);
        return;
    }
    m_connected = true;
    sendReading();
}

void CounterFitLightSensor::onReadingFinished()
{
    QNetworkReply *reply = m_reply;
    m_deadline->stop();
    m_reply = nullptr;
    if (!reply) {
        return;
    }
    reply->deleteLater();
    QString problem = replyProblem(reply, m_timedOut, m_timeoutMs, m_baseUrl);
    if (!problem.isEmpty()) {
        if (reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 404) {
            problem += QStringLiteral(" (create a Light sensor on pin %1 in CounterFit's page)")
                           .arg(m_pin);
        }
        fail(problem);
        return;
    }

    // CounterFit answers json.dumps({"value": n}) (with a text/html content type, so the
    // content type is not checked).
    const QByteArray body = reply->read(MaxBody + 1);
    const QString where = QStringLiteral("CounterFit at %1 sent an unusable value for pin %2")
                              .arg(baseText(m_baseUrl))
                              .arg(m_pin);
    if (body.size() > MaxBody) {
        fail(QStringLiteral("%1: the answer is longer than %2 bytes").arg(where).arg(MaxBody));
        return;
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(body, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        fail(QStringLiteral("%1: not JSON (%2): %3")
                 .arg(where, parseError.errorString(), quoted(body)));
        return;
    }
    if (!document.isObject()) {
        fail(QStringLiteral("%1: not a JSON object: %2").arg(where, quoted(body)));
        return;
    }
    const QJsonValue value = document.object().value(QLatin1String("value"));
    if (!value.isDouble()) {
        fail(QStringLiteral("%1: \"value\" is missing or not a number: %2")
                 .arg(where, quoted(body)));
        return;
    }

    if (m_failing) {
        qCInfo(lcCounterFit, "CounterFit at %s answers again", qPrintable(baseText(m_baseUrl)));
        m_failing = false;
    }
    emit readingReady(value.toDouble());
}

void CounterFitLightSensor::fail(const QString &message)
{
    // Re-POST /connect before the next reading: after a restart CounterFit shows "disconnected"
    // until a device connects again.
    m_connected = false;
    // One warning when CounterFit goes away, not one every tick while it stays away.
    if (!m_failing) {
        qCWarning(lcCounterFit, "%s", qPrintable(message));
    } else {
        qCDebug(lcCounterFit, "%s", qPrintable(message));
    }
    m_failing = true;
    emit readingFailed(message);
}

} // namespace nightlight
