#pragma once

// The nightlight MQTT contract (docs/PROTOCOL.md) in code: device ids, topic names, payload
// types and their JSON encoding with strict decoding. Pure functions, no I/O, any thread.

#include <QByteArray>
#include <QDebug>
#include <QString>

#include <optional>
#include <utility>

namespace nightlight {

// Payloads larger than this are rejected unread (PROTOCOL.md).
inline constexpr qsizetype MaxPayloadBytes = 64 * 1024;
// Device ids: 1..64 characters of A-Z a-z 0-9 - _ .
inline constexpr qsizetype MaxDeviceIdLength = 64;

enum class DecodeError {
    None,
    TooLarge, // over MaxPayloadBytes
    InvalidUtf8,
    NotJson,
    NotObject, // valid JSON, but not an object
    MissingField, // a required key is absent
    WrongType, // a known key has the wrong JSON type
    OutOfRange, // a number outside its range, or a string outside its set
    NoCommand, // a command object with none of led_on, mode, threshold
    Conflict, // keys that contradict each other ({"led_on": true, "mode": "auto"})
    DuplicateKey, // a key appears twice in the top-level object ({"led_on": 1, "led_on": 0})
    UnpairedSurrogate, // a string holds a \uD800-\uDFFF escape that is not half of a pair
};

// Short English name of an error ("wrong type"), for logs and counters.
QString decodeErrorName(DecodeError error);

// A decoded value, or the reason it could not be decoded. Never throws.
template<typename T>
class Decoded
{
public:
    Decoded(T value) : m_value(std::move(value)) { }
    Decoded(DecodeError error, QString message) : m_error(error), m_message(std::move(message)) { }

    bool isValid() const { return m_value.has_value(); }
    explicit operator bool() const { return isValid(); }
    const T &value() const { return *m_value; }
    const T *operator->() const { return &*m_value; }
    const T &operator*() const { return *m_value; }
    DecodeError error() const { return m_error; }
    // Human readable, e.g. "led_on must be a bool". Empty when valid.
    const QString &errorString() const { return m_message; }

private:
    std::optional<T> m_value;
    DecodeError m_error = DecodeError::None;
    QString m_message;
};

// --- device ids and topics -------------------------------------------------------------------

// Empty when `id` is a valid device id, else a sentence saying why not. The sentence shows the
// offending character as it is ('💡'), or as \uXXXX when it cannot be printed (a control
// character, half of a surrogate pair).
QString deviceIdError(const QString &id);
inline bool isValidDeviceId(const QString &id)
{
    return deviceIdError(id).isEmpty();
}

enum class TopicKind { Telemetry, Commands, State, Status };

QString topic(const QString &deviceId, TopicKind kind);
inline QString telemetryTopic(const QString &id)
{
    return topic(id, TopicKind::Telemetry);
}
inline QString commandsTopic(const QString &id)
{
    return topic(id, TopicKind::Commands);
}
inline QString stateTopic(const QString &id)
{
    return topic(id, TopicKind::State);
}
inline QString statusTopic(const QString &id)
{
    return topic(id, TopicKind::Status);
}
// Wildcard subscription for discovering devices of one kind: "+/status", "+/telemetry".
QString discoveryTopic(TopicKind kind);

struct ParsedTopic
{
    QString deviceId;
    TopicKind kind;
    bool operator==(const ParsedTopic &o) const { return deviceId == o.deviceId && kind == o.kind; }
};
// "<id>/<kind>" with a valid id and a known kind; nullopt for anything else.
std::optional<ParsedTopic> parseTopic(const QString &topic);

// --- payloads ----------------------------------------------------------------------------------

enum class Mode { Auto, Manual };
QString modeName(Mode mode); // "auto" / "manual"

// Limits shared by every numeric field (light, threshold): finite, 0..MaxLevel.
inline constexpr double MaxLevel = 1e6;
// ts: milliseconds since the Unix epoch, 1..2^53 (exact in a JSON double).
inline constexpr qint64 MaxTimestampMs = (qint64(1) << 53);

// <id>/telemetry: {"light": 412, "ts": 1795527578123}
struct Telemetry
{
    double light = 0;
    std::optional<qint64> ts;
    bool operator==(const Telemetry &o) const { return light == o.light && ts == o.ts; }
};

// <id>/commands: any combination of led_on, mode, threshold (at least one).
struct Command
{
    std::optional<bool> ledOn;
    std::optional<Mode> mode;
    std::optional<double> threshold;
    bool operator==(const Command &o) const
    {
        return ledOn == o.ledOn && mode == o.mode && threshold == o.threshold;
    }
};

// <id>/state (retained): the device's real LED, mode and threshold.
struct DeviceState
{
    bool ledOn = false;
    Mode mode = Mode::Auto;
    double threshold = 300;
    std::optional<double> light;
    std::optional<qint64> ts;
    QString unit; // empty: the lesson's units
    // A token the device picks at each start (1..32 of 0-9 a-f; optional, #9): two different
    // ones alternating on one id mean two devices share it.
    QString instance;
    bool operator==(const DeviceState &o) const
    {
        return ledOn == o.ledOn && mode == o.mode && threshold == o.threshold && light == o.light &&
            ts == o.ts && unit == o.unit && instance == o.instance;
    }
};

// <id>/status (retained): "online", or "offline" as the Last Will.
enum class Availability { Online, Offline };

QByteArray encodeTelemetry(const Telemetry &t);
QByteArray encodeCommand(const Command &c);
QByteArray encodeState(const DeviceState &s);
QByteArray encodeAvailability(Availability a);

// The JSON decoders check, in order: size (over MaxPayloadBytes: TooLarge, unread), UTF-8
// (InvalidUtf8), a byte-order mark (NotJson: RFC 8259 section 8.1), JSON (NotJson), an object
// (NotObject), unpaired surrogate escapes in any string (UnpairedSurrogate), a key repeated in the
// top-level object (DuplicateKey), then each known key's type and range.
Decoded<Telemetry> decodeTelemetry(const QByteArray &payload);
Decoded<Command> decodeCommand(const QByteArray &payload);
Decoded<DeviceState> decodeState(const QByteArray &payload);
Decoded<Availability> decodeAvailability(const QByteArray &payload);

QDebug operator<<(QDebug dbg, const Telemetry &t);
QDebug operator<<(QDebug dbg, const Command &c);
QDebug operator<<(QDebug dbg, const DeviceState &s);
QDebug operator<<(QDebug dbg, Availability a);
QDebug operator<<(QDebug dbg, Mode m);
QDebug operator<<(QDebug dbg, DecodeError e);

} // namespace nightlight
