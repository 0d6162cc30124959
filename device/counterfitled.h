#pragma once

// CounterFitLed: an LED in CounterFit, the lesson's virtual hardware web app (create an "LED"
// actuator on the pin in its web page first). setOn() POSTs <baseUrl>/actuator_value?port=<pin>
// with {"value": true|false} (Content-Type: application/json, which CounterFit requires); before
// the first one, and again after any failure, it POSTs <baseUrl>/connect.
//
// Asynchronous (QNetworkAccessManager, on the thread that owns the object): at most one request
// is in flight. A value set meanwhile is sent when it completes, and only the latest one (no
// pile-up); a value CounterFit already confirmed is not sent again. Failures (no answer within
// timeout(), an HTTP error) are reported through failed(); the next setOn() tries again.
// Never uses a proxy; follows no redirect to another origin.

#include "counterfitconnection.h"
#include "led.h"

#include <QUrl>

#include <optional>

namespace nightlight {

class CounterFitLed : public Led
{
    Q_OBJECT
public:
    static constexpr int DefaultTimeoutMs = CounterFitConnection::DefaultTimeoutMs;

    CounterFitLed(const QUrl &baseUrl, int pin, QObject *parent = nullptr);
    ~CounterFitLed() override;

    QString backendName() const override { return QStringLiteral("counterfit"); }
    void setOn(bool on) override;
    bool isOn() const override { return m_on; }

    QUrl baseUrl() const { return m_connection->baseUrl(); }
    int pin() const { return m_pin; }
    // True while a request to CounterFit is under way.
    bool isBusy() const { return m_connection->isBusy(); }
    // Longest wait for each HTTP request, in milliseconds (at least 1).
    int timeout() const { return m_connection->timeout(); }
    void setTimeout(int milliseconds);

signals:
    // CounterFit confirmed the LED shows `on` (HTTP 200 to the POST).
    void confirmed(bool on);

private:
    void sync();
    void sendValue(bool on);
    void onValueAnswered(const CounterFitConnection::Answer &answer);
    void fail(const QString &message);

    CounterFitConnection *m_connection;
    int m_pin;
    bool m_on = false; // what the device wants the LED to show
    bool m_sent = false; // the value of the request in flight
    std::optional<bool> m_shown; // what CounterFit last confirmed; nullopt: unknown
};

} // namespace nightlight
