#include "counterfitlightsensor.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>

namespace nightlight {

CounterFitLightSensor::CounterFitLightSensor(const QUrl &baseUrl, int pin, QObject *parent)
    : LightSensor(parent), m_connection(new CounterFitConnection(baseUrl, this)), m_pin(pin)
{ }

// The connection, a child, aborts a request under way without calling back.
CounterFitLightSensor::~CounterFitLightSensor() = default;

void CounterFitLightSensor::setTimeout(int milliseconds)
{
    m_connection->setTimeout(milliseconds);
}

bool CounterFitLightSensor::isBusy() const
{
    return m_connection->isBusy();
}

void CounterFitLightSensor::requestReading()
{
    if (isBusy()) {
        return;
    }
    m_connection->whenConnected([this](const QString &problem) {
        if (!problem.isEmpty()) {
            fail(problem);
            return;
        }
        sendReading();
    });
}

void CounterFitLightSensor::sendReading()
{
    m_connection->get(QStringLiteral("sensor_value"), m_pin,
                      [this](const CounterFitConnection::Answer &answer) { onReading(answer); });
}

void CounterFitLightSensor::onReading(const CounterFitConnection::Answer &answer)
{
    if (!answer.problem.isEmpty()) {
        QString problem = answer.problem;
        if (answer.httpStatus == 404) {
            problem += QStringLiteral(" (create a Light sensor on pin %1 in CounterFit's page)")
                           .arg(m_pin);
        }
        fail(problem);
        return;
    }

    // CounterFit answers json.dumps({"value": n}) (with a text/html content type, so the
    // content type is not checked).
    const QByteArray &body = answer.body;
    const QString where = QStringLiteral("CounterFit at %1 sent an unusable value for pin %2")
                              .arg(m_connection->baseText())
                              .arg(m_pin);
    if (body.size() > CounterFitConnection::MaxBody) {
        fail(QStringLiteral("%1: the answer is longer than %2 bytes")
                 .arg(where)
                 .arg(CounterFitConnection::MaxBody));
        return;
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(body, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        fail(QStringLiteral("%1: not JSON (%2): %3")
                 .arg(where, parseError.errorString(), CounterFitConnection::quoted(body)));
        return;
    }
    if (!document.isObject()) {
        fail(QStringLiteral("%1: not a JSON object: %2")
                 .arg(where, CounterFitConnection::quoted(body)));
        return;
    }
    const QJsonValue value = document.object().value(QLatin1String("value"));
    if (!value.isDouble()) {
        fail(QStringLiteral("%1: \"value\" is missing or not a number: %2")
                 .arg(where, CounterFitConnection::quoted(body)));
        return;
    }

    m_connection->reportSuccess();
    emit readingReady(value.toDouble());
}

void CounterFitLightSensor::fail(const QString &message)
{
    m_connection->reportFailure(message); // and connect again before the next reading
    emit readingFailed(message);
}

} // namespace nightlight
