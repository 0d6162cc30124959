#pragma once

// CounterFitLightSensor: a light sensor in CounterFit, the lesson's virtual hardware web app
// (create a "Light" sensor on the pin in its web page first). A reading is
// GET <baseUrl>/sensor_value?port=<pin> -> {"value": n}, n in 0..1023 as the app's slider sets it;
// before the first reading, and again after any failure, it POSTs <baseUrl>/connect as the
// lesson's counterfit_connection.py does.
//
// Asynchronous (QNetworkAccessManager, on the thread that owns the object): requestReading()
// returns at once and readingReady / readingFailed follow from the event loop. Every request has
// a deadline (timeout(), 2000 ms by default), so a stopped or hung CounterFit costs one failed
// reading, never a stalled loop. Never uses a proxy; follows no redirect to another origin.

#include "counterfitconnection.h"
#include "lightsensor.h"

#include <QUrl>

namespace nightlight {

class CounterFitLightSensor : public LightSensor
{
    Q_OBJECT
public:
    static constexpr int DefaultTimeoutMs = CounterFitConnection::DefaultTimeoutMs;

    CounterFitLightSensor(const QUrl &baseUrl, int pin, QObject *parent = nullptr);
    ~CounterFitLightSensor() override;

    QString backendName() const override { return QStringLiteral("counterfit"); }
    // Starts POST /connect (when needed) and GET /sensor_value. Ignored while busy: the reading
    // already under way answers.
    void requestReading() override;
    bool isBusy() const override;

    QUrl baseUrl() const { return m_connection->baseUrl(); }
    int pin() const { return m_pin; }
    // Longest wait for each HTTP request, in milliseconds (at least 1).
    int timeout() const { return m_connection->timeout(); }
    void setTimeout(int milliseconds);

private:
    void sendReading();
    void onReading(const CounterFitConnection::Answer &answer);
    void fail(const QString &message);

    CounterFitConnection *m_connection;
    int m_pin;
};

} // namespace nightlight
