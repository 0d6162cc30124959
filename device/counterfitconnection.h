#pragma once

// CounterFitConnection: the HTTP side that CounterFitLightSensor and CounterFitLed share. It owns
// the QNetworkAccessManager (never a proxy: CounterFit runs next to us or on the LAN), the base
// URL and the per-request deadline (timeout(), 2000 ms by default); it knows whether CounterFit
// has been told about us (POST <baseUrl>/connect, as the lesson's counterfit_connection.py does)
// and turns every answer into either a body or a readable problem. It also logs for both: one
// warning when CounterFit goes away, one info line when it answers again.
//
// Owned by (a child of) the sensor or LED object, on that object's thread. At most one request
// is in flight; callbacks run from the event loop (or at once, see whenConnected()) and never
// after the connection is destroyed. Follows no redirect to another origin.

#include <QLoggingCategory>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QUrl>

#include <functional>
#include <optional>

class QNetworkAccessManager;
class QNetworkReply;
class QNetworkRequest;
class QTimer;

namespace nightlight {

// "nightlight.counterfit": one switch for the sensor and the LED.
Q_DECLARE_LOGGING_CATEGORY(lcCounterFit)

class CounterFitConnection : public QObject
{
    Q_OBJECT
public:
    static constexpr int DefaultTimeoutMs = 2000;
    // Bodies longer than this are not CounterFit's answers; only this much (+1 byte, to tell a
    // longer body) is read.
    static constexpr qint64 MaxBody = 4096;

    struct Answer
    {
        QString problem; // empty: CounterFit answered 2xx
        int httpStatus = 0; // 0: no HTTP answer at all
        QByteArray body; // the first MaxBody + 1 bytes
    };
    using AnswerHandler = std::function<void(const Answer &answer)>;
    using ConnectHandler = std::function<void(const QString &problem)>;

    explicit CounterFitConnection(const QUrl &baseUrl, QObject *parent = nullptr);
    ~CounterFitConnection() override;

    QUrl baseUrl() const { return m_baseUrl; }
    // The base URL for messages: no user info, no trailing slash.
    QString baseText() const;
    // Longest wait for each HTTP request, in milliseconds (at least 1).
    int timeout() const { return m_timeoutMs; }
    void setTimeout(int milliseconds);
    // True while a request to CounterFit is under way.
    bool isBusy() const { return !m_reply.isNull(); }

    // Calls `done` with an empty problem once CounterFit knows us: at once when it already does,
    // else after POST /connect succeeded; with the problem when that POST failed.
    void whenConnected(ConnectHandler done);
    // GET <baseUrl>/<route>?port=<port>.
    void get(const QString &route, int port, AnswerHandler done);
    // POST <baseUrl>/<route>?port=<port> with a JSON body (CounterFit's Flask get_json() answers
    // 400 to any other content type).
    void postJson(const QString &route, int port, const QByteArray &json, AnswerHandler done);

    // A failed exchange: the next whenConnected() POSTs /connect again (after a restart
    // CounterFit shows "disconnected" until a device connects again). Logs a warning the first
    // time, a debug line while CounterFit stays away.
    void reportFailure(const QString &message);
    // A successful exchange: logs once that CounterFit answers again after failures.
    void reportSuccess();

    // At most 120 characters of a body for a message, "(empty body)" for none.
    static QString quoted(const QByteArray &body);

private:
    QUrl endpoint(const QString &route, std::optional<int> port = std::nullopt) const;
    QNetworkRequest makeRequest(const QUrl &url) const;
    void start(QNetworkReply *reply, AnswerHandler done);
    void onFinished();
    QString replyProblem(QNetworkReply *reply, const QByteArray &body) const;

    QUrl m_baseUrl;
    int m_timeoutMs = DefaultTimeoutMs;
    QNetworkAccessManager *m_manager;
    QTimer *m_deadline;
    QPointer<QNetworkReply> m_reply;
    AnswerHandler m_done;
    bool m_connected = false;
    bool m_timedOut = false;
    bool m_failing = false;
};

} // namespace nightlight
