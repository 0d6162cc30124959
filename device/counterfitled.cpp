#include "counterfitled.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <QUrlQuery>

namespace nightlight {

namespace {

// The same category name as CounterFitLightSensor's: one switch for both.
Q_LOGGING_CATEGORY(lcCounterFit, "nightlight.counterfit", QtInfoMsg)

constexpr qint64 MaxQuoted = 120;

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
            .arg(route, quoted(reply->read(MaxQuoted + 1)));
    }
    if (reply->error() != QNetworkReply::NoError) {
        return QStringLiteral("CounterFit at %1 did not answer: %2")
            .arg(baseText(base), reply->errorString());
    }
    return {};
}

} // namespace

CounterFitLed::CounterFitLed(const QUrl &baseUrl, int pin, QObject *parent)
    : Led(parent),
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

CounterFitLed::~CounterFitLed()
{
    if (m_reply) {
        // No slot of a half-destroyed object may run.
        disconnect(m_reply, nullptr, this, nullptr);
        m_reply->abort();
    }
}

void CounterFitLed::setTimeout(int milliseconds)
{
    m_timeoutMs = qMax(1, milliseconds);
}

void CounterFitLed::setOn(bool on)
{
    m_on = on;
    sync();
}

// Sends what is wanted unless a request is under way (its completion calls sync() again) or
// CounterFit already shows it.
void CounterFitLed::sync()
{
    if (isBusy() || m_shown == m_on) {
        return;
    }
    if (m_connected) {
        sendValue(m_on);
    } else {
        sendConnect();
    }
}

void CounterFitLed::start(QNetworkReply *reply)
{
    m_reply = reply;
    m_timedOut = false;
    m_deadline->start(m_timeoutMs);
}

void CounterFitLed::sendConnect()
{
    QNetworkRequest request =
        makeRequest(endpoint(m_baseUrl, QStringLiteral("connect")), m_timeoutMs);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("text/plain"));
    QNetworkReply *reply = m_manager->post(request, QByteArray());
    start(reply);
    connect(reply, &QNetworkReply::finished, this, &CounterFitLed::onConnectFinished);
}

void CounterFitLed::sendValue(bool on)
{
    QNetworkRequest request =
        makeRequest(endpoint(m_baseUrl, QStringLiteral("actuator_value"), m_pin), m_timeoutMs);
    // Flask's get_json() answers 400 to any other content type.
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    const QByteArray body =
        QJsonDocument(QJsonObject{{QStringLiteral("value"), on}}).toJson(QJsonDocument::Compact);
    m_sent = on;
    QNetworkReply *reply = m_manager->post(request, body);
    start(reply);
    connect(reply, &QNetworkReply::finished, this, &CounterFitLed::onValueFinished);
}

void CounterFitLed::onConnectFinished()
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
    sync();
}

void CounterFitLed::onValueFinished()
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
        const bool changedMeanwhile = m_sent != m_on;
        fail(problem);
        // A newer value deserves its own try; an unchanged one waits for the next setOn().
        if (changedMeanwhile) {
            sync();
        }
        return;
    }
    if (m_failing) {
        qCInfo(lcCounterFit, "CounterFit at %s answers again", qPrintable(baseText(m_baseUrl)));
        m_failing = false;
    }
    m_shown = m_sent;
    emit confirmed(m_sent);
    sync(); // the latest value, if it changed while this one was in flight
}

void CounterFitLed::fail(const QString &message)
{
    m_connected = false;
    m_shown.reset(); // unknown now: send again on the next setOn(), even the same value
    if (!m_failing) {
        qCWarning(lcCounterFit, "%s", qPrintable(message));
    } else {
        qCDebug(lcCounterFit, "%s", qPrintable(message));
    }
    m_failing = true;
    emit failed(message);
}

} // namespace nightlight
