#include "counterfitconnection.h"

#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <QUrlQuery>

#include <utility>

namespace nightlight {

Q_LOGGING_CATEGORY(lcCounterFit, "nightlight.counterfit", QtInfoMsg)

namespace {

constexpr qsizetype MaxQuoted = 120;

} // namespace

CounterFitConnection::CounterFitConnection(const QUrl &baseUrl, QObject *parent)
    : QObject(parent),
      m_baseUrl(baseUrl),
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

CounterFitConnection::~CounterFitConnection()
{
    if (m_reply) {
        // No handler of a half-destroyed owner may run.
        disconnect(m_reply, nullptr, this, nullptr);
        m_reply->abort();
    }
}

QString CounterFitConnection::baseText() const
{
    return m_baseUrl.toDisplayString(QUrl::RemoveUserInfo | QUrl::StripTrailingSlash);
}

void CounterFitConnection::setTimeout(int milliseconds)
{
    m_timeoutMs = qMax(1, milliseconds);
}

void CounterFitConnection::whenConnected(ConnectHandler done)
{
    if (m_connected) {
        done(QString());
        return;
    }
    QNetworkRequest request = makeRequest(endpoint(QStringLiteral("connect")));
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("text/plain"));
    start(m_manager->post(request, QByteArray()),
          [this, done = std::move(done)](const Answer &answer) {
              if (answer.problem.isEmpty()) {
                  m_connected = true;
              }
              done(answer.problem);
          });
}

void CounterFitConnection::get(const QString &route, int port, AnswerHandler done)
{
    start(m_manager->get(makeRequest(endpoint(route, port))), std::move(done));
}

void CounterFitConnection::postJson(const QString &route, int port, const QByteArray &json,
                                    AnswerHandler done)
{
    QNetworkRequest request = makeRequest(endpoint(route, port));
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    start(m_manager->post(request, json), std::move(done));
}

void CounterFitConnection::reportFailure(const QString &message)
{
    m_connected = false;
    // One warning when CounterFit goes away, not one every tick while it stays away.
    if (!m_failing) {
        qCWarning(lcCounterFit, "%s", qPrintable(message));
    } else {
        qCDebug(lcCounterFit, "%s", qPrintable(message));
    }
    m_failing = true;
}

void CounterFitConnection::reportSuccess()
{
    if (m_failing) {
        qCInfo(lcCounterFit, "CounterFit at %s answers again", qPrintable(baseText()));
        m_failing = false;
    }
}

QString CounterFitConnection::quoted(const QByteArray &body)
{
    QString text = QString::fromUtf8(body.left(MaxQuoted)).simplified();
    if (body.size() > MaxQuoted) {
        text += QStringLiteral("...");
    }
    return text.isEmpty() ? QStringLiteral("(empty body)") : text;
}

// <base>/<route>?port=<pin>, keeping any path the base URL has.
QUrl CounterFitConnection::endpoint(const QString &route, std::optional<int> port) const
{
    QUrl url = m_baseUrl;
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

QNetworkRequest CounterFitConnection::makeRequest(const QUrl &url) const
{
    QNetworkRequest request(url);
    // Qt's own inactivity timeout; the deadline timer also bounds the whole exchange.
    request.setTransferTimeout(m_timeoutMs);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                         QNetworkRequest::SameOriginRedirectPolicy);
    return request;
}

void CounterFitConnection::start(QNetworkReply *reply, AnswerHandler done)
{
    m_reply = reply;
    m_done = std::move(done);
    m_timedOut = false;
    m_deadline->start(m_timeoutMs);
    connect(reply, &QNetworkReply::finished, this, &CounterFitConnection::onFinished);
}

void CounterFitConnection::onFinished()
{
    QNetworkReply *reply = m_reply;
    m_deadline->stop();
    m_reply = nullptr;
    // Taken out first: the handler may start the next request.
    const AnswerHandler done = std::exchange(m_done, nullptr);
    if (!reply) {
        return;
    }
    reply->deleteLater();
    Answer answer;
    answer.httpStatus = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    answer.body = reply->read(MaxBody + 1);
    answer.problem = replyProblem(reply, answer.body);
    if (done) {
        done(answer);
    }
}

// Empty when the reply is a 2xx answer, else what went wrong.
QString CounterFitConnection::replyProblem(QNetworkReply *reply, const QByteArray &body) const
{
    if (m_timedOut || reply->error() == QNetworkReply::OperationCanceledError) {
        return QStringLiteral("CounterFit at %1 did not answer: no answer within %2 ms")
            .arg(baseText())
            .arg(m_timeoutMs);
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
            .arg(baseText())
            .arg(code)
            .arg(route, quoted(body));
    }
    if (reply->error() != QNetworkReply::NoError) {
        return QStringLiteral("CounterFit at %1 did not answer: %2")
            .arg(baseText(), reply->errorString());
    }
    return {};
}

} // namespace nightlight
