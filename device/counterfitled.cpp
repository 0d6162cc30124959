#include "counterfitled.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace nightlight {

CounterFitLed::CounterFitLed(const QUrl &baseUrl, int pin, QObject *parent)
    : Led(parent), m_connection(new CounterFitConnection(baseUrl, this)), m_pin(pin)
{ }

// The connection, a child, aborts a request under way without calling back.
CounterFitLed::~CounterFitLed() = default;

void CounterFitLed::setTimeout(int milliseconds)
{
    m_connection->setTimeout(milliseconds);
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
    m_connection->whenConnected([this](const QString &problem) {
        if (!problem.isEmpty()) {
            fail(problem);
            return;
        }
        // Still wanted after a POST /connect: m_shown is unknown whenever one is needed.
        sendValue(m_on);
    });
}

void CounterFitLed::sendValue(bool on)
{
    const QByteArray body =
        QJsonDocument(QJsonObject{{QStringLiteral("value"), on}}).toJson(QJsonDocument::Compact);
    m_sent = on;
    m_connection->postJson(
        QStringLiteral("actuator_value"), m_pin, body,
        [this](const CounterFitConnection::Answer &answer) { onValueAnswered(answer); });
}

void CounterFitLed::onValueAnswered(const CounterFitConnection::Answer &answer)
{
    if (!answer.problem.isEmpty()) {
        const bool changedMeanwhile = m_sent != m_on;
        fail(answer.problem);
        // A newer value deserves its own try; an unchanged one waits for the next setOn().
        if (changedMeanwhile) {
            sync();
        }
        return;
    }
    m_connection->reportSuccess();
    m_shown = m_sent;
    emit confirmed(m_sent);
    sync(); // the latest value, if it changed while this one was in flight
}

void CounterFitLed::fail(const QString &message)
{
    m_shown.reset(); // unknown now: send again on the next setOn(), even the same value
    m_connection->reportFailure(message); // and connect again before the next value
    emit failed(message);
}

} // namespace nightlight
