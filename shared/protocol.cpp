#include "protocol.h"

#include <algorithm>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>
#include <QSet>
#include <QStringDecoder>

#include <cmath>

namespace nightlight {

namespace {

const QLatin1String kLight("light");
const QLatin1String kTs("ts");
const QLatin1String kLedOn("led_on");
const QLatin1String kMode("mode");
const QLatin1String kThreshold("threshold");
const QLatin1String kUnit("unit");
const QLatin1String kInstance("instance");

// `text` fit for a log line or an error message: unprintable characters (controls, lone halves of
// surrogate pairs) as \uXXXX, so that a peer's text cannot start a line of its own, and at most
// `max` characters (then "...").
QString printable(QStringView text, qsizetype max)
{
    QString out;
    qsizetype i = 0;
    for (qsizetype shown = 0; i < text.size() && shown < max; ++i, ++shown) {
        const QChar c = text[i];
        if (c.isHighSurrogate() && i + 1 < text.size() && text[i + 1].isLowSurrogate()) {
            if (QChar::isPrint(QChar::surrogateToUcs4(c, text[i + 1]))) {
                out += text.mid(i, 2);
                ++i;
                continue;
            }
        } else if (c.isPrint()) {
            out += c;
            continue;
        }
        out += QStringLiteral("\\u%1").arg(uint(c.unicode()), 4, 16, QLatin1Char('0'));
    }
    if (i < text.size())
        out += QStringLiteral("...");
    return out;
}

int hexDigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// The UTF-16 code unit of the \uXXXX escape at `at` (the backslash), or -1 if there is none.
int unicodeEscape(QByteArrayView text, qsizetype at)
{
    if (at + 6 > text.size() || text[at] != '\\' || text[at + 1] != 'u')
        return -1;
    int unit = 0;
    for (qsizetype i = at + 2; i < at + 6; ++i) {
        const int digit = hexDigit(text[i]);
        if (digit < 0)
            return -1;
        unit = unit * 16 + digit;
    }
    return unit;
}

// What QJsonDocument keeps quiet about: it keeps the last of two equal keys and hands unpaired
// surrogate escapes on as they are. A scan of the strings in a text Qt has already parsed as a
// JSON object, so it can rely on JSON's grammar: strings are the only place where braces, quotes
// and commas are not structure; a string is a key of the top-level object when it comes first
// after that object's '{' or a ',' at its level. Linear in the payload (at most 64 KiB).
struct StringScan
{
    QList<QByteArrayView> topLevelKeys; // as written, without the quotes, escapes undecoded
    qsizetype unpairedAt = -1; // offset of the first unpaired surrogate escape, -1 if none
};

StringScan scanStrings(QByteArrayView json)
{
    StringScan scan;
    int depth = 0; // of objects and arrays
    bool keyNext = false; // at depth 1: the next string is a key
    for (qsizetype i = 0; i < json.size(); ++i) {
        switch (json[i]) {
        case '{':
        case '[':
            keyNext = ++depth == 1;
            break;
        case '}':
        case ']':
            --depth;
            break;
        case ',':
            keyNext = depth == 1;
            break;
        case '"': {
            const qsizetype start = ++i;
            while (i < json.size() && json[i] != '"') {
                if (json[i] != '\\') {
                    ++i;
                    continue;
                }
                const int unit = unicodeEscape(json, i);
                if (unit < 0) {
                    i += 2; // \" \\ \/ \b \f \n \r \t
                    continue;
                }
                // RFC 8259 section 7: a character outside the BMP is a high surrogate escape
                // followed at once by a low one; anything else is not a character.
                const bool high = unit >= 0xd800 && unit <= 0xdbff;
                const int next = high ? unicodeEscape(json, i + 6) : -1;
                const bool paired = high && next >= 0xdc00 && next <= 0xdfff;
                if (!paired && unit >= 0xd800 && unit <= 0xdfff && scan.unpairedAt < 0)
                    scan.unpairedAt = i;
                i += paired ? 12 : 6;
            }
            if (depth == 1 && keyNext)
                scan.topLevelKeys.append(json.sliced(start, i - start));
            keyNext = false;
            break;
        }
        default:
            break;
        }
    }
    return scan;
}

// A key as Qt decodes it (escapes resolved), for comparing and for the error message.
QString decodedKey(QByteArrayView raw)
{
    if (!raw.contains('\\'))
        return QString::fromUtf8(raw);
    const QByteArray wrapped = "[\"" + raw.toByteArray() + "\"]";
    return QJsonDocument::fromJson(wrapped).array().at(0).toString();
}

// The checks every JSON payload passes before its fields are looked at (PROTOCOL.md: size,
// UTF-8, a JSON object; and what docs/DESIGN.md adds: no byte-order mark, no unpaired surrogate
// escape, no duplicate key).
template<typename T>
std::optional<Decoded<T>> checkEnvelope(const QByteArray &payload, QJsonObject *object)
{
    if (payload.size() > MaxPayloadBytes) {
        return Decoded<T>(
            DecodeError::TooLarge,
            QStringLiteral("payload of %1 bytes is over the 64 KiB limit").arg(payload.size()));
    }
    QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString text = utf8.decode(payload);
    if (utf8.hasError())
        return Decoded<T>(DecodeError::InvalidUtf8, QStringLiteral("payload is not valid UTF-8"));
    // RFC 8259 section 8.1: implementations "MUST NOT add a byte order mark" and MAY ignore one.
    // Qt's parser skips it; we refuse it, so that every receiver of the contract (paho-mqtt's
    // json.loads raises on one) agrees on what is a payload.
    if (payload.startsWith("\xef\xbb\xbf")) {
        return Decoded<T>(DecodeError::NotJson,
                          QStringLiteral("payload is not JSON: it starts with a byte-order mark"));
    }
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(payload, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        // Qt's parser takes only an object or an array at the top level: a bare number or string
        // is JSON all the same, just not an object.
        QJsonParseError wrappedError{};
        QJsonDocument::fromJson('[' + payload + ']', &wrappedError);
        if (!payload.trimmed().isEmpty() && wrappedError.error == QJsonParseError::NoError) {
            return Decoded<T>(DecodeError::NotObject,
                              QStringLiteral("payload is not a JSON object"));
        }
        return Decoded<T>(DecodeError::NotJson,
                          QStringLiteral("payload is not JSON: %1 at offset %2")
                              .arg(parseError.errorString())
                              .arg(parseError.offset));
    }
    if (!doc.isObject())
        return Decoded<T>(DecodeError::NotObject, QStringLiteral("payload is not a JSON object"));
    *object = doc.object();
    const StringScan scan = scanStrings(payload);
    if (scan.unpairedAt >= 0) {
        return Decoded<T>(DecodeError::UnpairedSurrogate,
                          QStringLiteral("unpaired UTF-16 surrogate escape %1 at offset %2")
                              .arg(QString::fromLatin1(payload.mid(scan.unpairedAt, 6)))
                              .arg(scan.unpairedAt));
    }
    // Qt keeps the last of equal keys, so fewer keys in the object than in the text means that
    // one came twice (RFC 8259 section 4: names SHOULD be unique; receivers differ in which they
    // keep). Only the top-level object's keys mean anything to us; nested values are ignored.
    if (scan.topLevelKeys.size() != object->size()) {
        QSet<QString> seen;
        for (const QByteArrayView raw : scan.topLevelKeys) {
            const QString key = decodedKey(raw);
            if (seen.contains(key)) {
                return Decoded<T>(DecodeError::DuplicateKey,
                                  QStringLiteral("duplicate key %1").arg(printable(key, 64)));
            }
            seen.insert(key);
        }
    }
    return std::nullopt;
}

// Why a field could not be decoded; turned into the caller's Decoded<T> by fail().
struct Failure
{
    DecodeError error = DecodeError::None;
    QString message;
};

// A number field in 0..MaxLevel. nullopt and *error set when present but bad; *present false when
// absent.
std::optional<double> levelField(const QJsonObject &o, QLatin1String key, bool *present,
                                 Failure *error)
{
    const QJsonValue v = o.value(key);
    *present = !v.isUndefined();
    if (!*present)
        return std::nullopt;
    if (!v.isDouble()) {
        *error = Failure{DecodeError::WrongType, key + QStringLiteral(" must be a number")};
        return std::nullopt;
    }
    const double d = v.toDouble();
    if (!std::isfinite(d) || d < 0 || d > MaxLevel) {
        *error = Failure{DecodeError::OutOfRange,
                         key + QStringLiteral(" must be between 0 and %1").arg(MaxLevel)};
        return std::nullopt;
    }
    return d;
}

// ts: an integral number of milliseconds in 1..2^53.
std::optional<qint64> tsField(const QJsonObject &o, bool *present, Failure *error)
{
    const QJsonValue v = o.value(kTs);
    *present = !v.isUndefined();
    if (!*present)
        return std::nullopt;
    if (!v.isDouble()) {
        *error = Failure{DecodeError::WrongType,
                         QStringLiteral("ts must be a number (milliseconds since 1970)")};
        return std::nullopt;
    }
    const double d = v.toDouble();
    if (!std::isfinite(d) || d < 1 || d > double(MaxTimestampMs) || std::floor(d) != d) {
        *error = Failure{DecodeError::OutOfRange,
                         QStringLiteral("ts must be a whole number of milliseconds since "
                                        "1970, 1..2^53")};
        return std::nullopt;
    }
    return qint64(d);
}

std::optional<Mode> parseMode(const QString &s)
{
    if (s == QLatin1String("auto"))
        return Mode::Auto;
    if (s == QLatin1String("manual"))
        return Mode::Manual;
    return std::nullopt;
}

template<typename T>
Decoded<T> fail(const Failure &failure)
{
    return Decoded<T>(failure.error, failure.message);
}

QByteArray compact(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

// Telemetry and state are encoded on every sensor tick (#12): building a QJsonObject and a
// QJsonDocument for them cost about 8 us a tick. The envelope (fixed keys, in QJsonObject's sorted
// order) is written here; numbers and strings are still Qt's, formatted as qjsonwriter.cpp does,
// so the bytes are what QJsonDocument(o).toJson(QJsonDocument::Compact) gives (tst_protocol keeps
// that as the reference).

// A number as QJsonDocument writes it: QJsonValue(double) keeps an integral value within +-2^53
// as an integer (so -0.0 is "0"); the rest is written with the shortest digits that read back.
void appendNumber(QByteArray *out, double d)
{
    if (!std::isfinite(d)) {
        out->append("null");
        return;
    }
    constexpr double MaxExactInteger = double(qint64(1) << 53);
    if (std::abs(d) <= MaxExactInteger && std::trunc(d) == d)
        out->append(QByteArray::number(qint64(d)));
    else
        out->append(QByteArray::number(d, 'g', QLocale::FloatingPointShortest));
}

// A string in quotes. Plain printable ASCII (an instance token, "lux") is copied; anything that
// needs escaping goes through QJsonDocument, which escapes it as it always has.
void appendString(QByteArray *out, const QString &text)
{
    const bool plain = std::all_of(text.cbegin(), text.cend(), [](QChar c) {
        return c.unicode() >= 0x20 && c.unicode() < 0x7f && c != u'"' && c != u'\\';
    });
    if (plain) {
        out->append('"');
        out->append(text.toLatin1());
        out->append('"');
        return;
    }
    const QByteArray array = QJsonDocument(QJsonArray{text}).toJson(QJsonDocument::Compact);
    out->append(array.mid(1, array.size() - 2)); // without the brackets
}

} // namespace

QString decodeErrorName(DecodeError error)
{
    switch (error) {
    case DecodeError::None:
        return QStringLiteral("no error");
    case DecodeError::TooLarge:
        return QStringLiteral("too large");
    case DecodeError::InvalidUtf8:
        return QStringLiteral("invalid UTF-8");
    case DecodeError::NotJson:
        return QStringLiteral("not JSON");
    case DecodeError::NotObject:
        return QStringLiteral("not a JSON object");
    case DecodeError::MissingField:
        return QStringLiteral("missing field");
    case DecodeError::WrongType:
        return QStringLiteral("wrong type");
    case DecodeError::OutOfRange:
        return QStringLiteral("out of range");
    case DecodeError::NoCommand:
        return QStringLiteral("no command");
    case DecodeError::Conflict:
        return QStringLiteral("conflicting keys");
    case DecodeError::DuplicateKey:
        return QStringLiteral("duplicate key");
    case DecodeError::UnpairedSurrogate:
        return QStringLiteral("unpaired surrogate");
    }
    return QStringLiteral("unknown error");
}

QString deviceIdError(const QString &id)
{
    if (id.isEmpty())
        return QStringLiteral("device id is empty");
    if (id.size() > MaxDeviceIdLength) {
        return QStringLiteral("device id is %1 characters long; at most %2 are allowed")
            .arg(id.size())
            .arg(MaxDeviceIdLength);
    }
    for (qsizetype i = 0; i < id.size(); ++i) {
        const char16_t u = id[i].unicode();
        const bool ok = (u >= u'a' && u <= u'z') || (u >= u'A' && u <= u'Z') ||
            (u >= u'0' && u <= u'9') || u == u'-' || u == u'_' || u == u'.';
        if (!ok) {
            // The whole character, not half of it: '💡' is two UTF-16 code units (#9).
            const bool pair =
                id[i].isHighSurrogate() && i + 1 < id.size() && id[i + 1].isLowSurrogate();
            return QStringLiteral("device id \"%1\" contains '%2'; only A-Z a-z 0-9 - _ . are "
                                  "allowed")
                .arg(printable(id, 2 * MaxDeviceIdLength),
                     printable(QStringView(id).mid(i, pair ? 2 : 1), 2));
        }
    }
    return {};
}

QString topic(const QString &deviceId, TopicKind kind)
{
    switch (kind) {
    case TopicKind::Telemetry:
        return deviceId + QStringLiteral("/telemetry");
    case TopicKind::Commands:
        return deviceId + QStringLiteral("/commands");
    case TopicKind::State:
        return deviceId + QStringLiteral("/state");
    case TopicKind::Status:
        return deviceId + QStringLiteral("/status");
    }
    return {};
}

QString discoveryTopic(TopicKind kind)
{
    return topic(QStringLiteral("+"), kind);
}

std::optional<ParsedTopic> parseTopic(const QString &topicName)
{
    const qsizetype slash = topicName.indexOf(u'/');
    if (slash < 0)
        return std::nullopt;
    const QString id = topicName.left(slash);
    if (!isValidDeviceId(id))
        return std::nullopt;
    const QStringView rest = QStringView(topicName).mid(slash + 1);
    for (TopicKind kind :
         {TopicKind::Telemetry, TopicKind::Commands, TopicKind::State, TopicKind::Status}) {
        if (rest == QStringView(topic(QString(), kind)).mid(1))
            return ParsedTopic{id, kind};
    }
    return std::nullopt;
}

QString modeName(Mode mode)
{
    return mode == Mode::Auto ? QStringLiteral("auto") : QStringLiteral("manual");
}

QByteArray encodeTelemetry(const Telemetry &t)
{
    QByteArray out;
    out.reserve(64);
    out.append("{\"light\":");
    appendNumber(&out, t.light);
    if (t.ts) {
        out.append(",\"ts\":");
        appendNumber(&out, double(*t.ts));
    }
    out.append('}');
    return out;
}

QByteArray encodeCommand(const Command &c)
{
    QJsonObject o;
    if (c.ledOn)
        o.insert(kLedOn, *c.ledOn);
    if (c.mode)
        o.insert(kMode, modeName(*c.mode));
    if (c.threshold)
        o.insert(kThreshold, *c.threshold);
    return compact(o);
}

QByteArray encodeState(const DeviceState &s)
{
    // Keys in QJsonObject's order, which is sorted: instance, led_on, light, mode, threshold, ts,
    // unit.
    QByteArray out;
    out.reserve(160 + s.instance.size() + s.unit.size());
    out.append('{');
    if (!s.instance.isEmpty()) {
        out.append("\"instance\":");
        appendString(&out, s.instance);
        out.append(',');
    }
    out.append(s.ledOn ? "\"led_on\":true" : "\"led_on\":false");
    if (s.light) {
        out.append(",\"light\":");
        appendNumber(&out, *s.light);
    }
    out.append(",\"mode\":");
    appendString(&out, modeName(s.mode));
    out.append(",\"threshold\":");
    appendNumber(&out, s.threshold);
    if (s.ts) {
        out.append(",\"ts\":");
        appendNumber(&out, double(*s.ts));
    }
    if (!s.unit.isEmpty()) {
        out.append(",\"unit\":");
        appendString(&out, s.unit);
    }
    out.append('}');
    return out;
}

QByteArray encodeAvailability(Availability a)
{
    return a == Availability::Online ? QByteArrayLiteral("online") : QByteArrayLiteral("offline");
}

Decoded<Telemetry> decodeTelemetry(const QByteArray &payload)
{
    QJsonObject o;
    if (auto bad = checkEnvelope<Telemetry>(payload, &o))
        return *bad;
    Failure error;
    bool present = false;
    Telemetry t;
    const auto light = levelField(o, kLight, &present, &error);
    if (!present)
        return Decoded<Telemetry>(DecodeError::MissingField, QStringLiteral("light is missing"));
    if (!light)
        return fail<Telemetry>(error);
    t.light = *light;
    t.ts = tsField(o, &present, &error);
    if (present && !t.ts)
        return fail<Telemetry>(error);
    return t;
}

Decoded<Command> decodeCommand(const QByteArray &payload)
{
    QJsonObject o;
    if (auto bad = checkEnvelope<Command>(payload, &o))
        return *bad;
    Command c;
    const QJsonValue ledOn = o.value(kLedOn);
    if (!ledOn.isUndefined()) {
        if (!ledOn.isBool())
            return Decoded<Command>(DecodeError::WrongType,
                                    QStringLiteral("led_on must be a bool"));
        c.ledOn = ledOn.toBool();
    }
    const QJsonValue mode = o.value(kMode);
    if (!mode.isUndefined()) {
        if (!mode.isString())
            return Decoded<Command>(DecodeError::WrongType,
                                    QStringLiteral("mode must be a string"));
        c.mode = parseMode(mode.toString());
        if (!c.mode) {
            return Decoded<Command>(DecodeError::OutOfRange,
                                    QStringLiteral("mode must be \"auto\" or \"manual\""));
        }
    }
    Failure error;
    bool present = false;
    c.threshold = levelField(o, kThreshold, &present, &error);
    if (present && !c.threshold)
        return fail<Command>(error);
    if (!c.ledOn && !c.mode && !c.threshold) {
        return Decoded<Command>(DecodeError::NoCommand,
                                QStringLiteral("command has none of led_on, mode, threshold"));
    }
    if (c.ledOn && c.mode == Mode::Auto) {
        return Decoded<Command>(DecodeError::Conflict,
                                QStringLiteral("led_on and mode \"auto\" contradict each other"));
    }
    return c;
}

Decoded<DeviceState> decodeState(const QByteArray &payload)
{
    QJsonObject o;
    if (auto bad = checkEnvelope<DeviceState>(payload, &o))
        return *bad;
    DeviceState s;
    const QJsonValue ledOn = o.value(kLedOn);
    if (ledOn.isUndefined())
        return Decoded<DeviceState>(DecodeError::MissingField, QStringLiteral("led_on is missing"));
    if (!ledOn.isBool())
        return Decoded<DeviceState>(DecodeError::WrongType,
                                    QStringLiteral("led_on must be a bool"));
    s.ledOn = ledOn.toBool();
    const QJsonValue mode = o.value(kMode);
    if (mode.isUndefined())
        return Decoded<DeviceState>(DecodeError::MissingField, QStringLiteral("mode is missing"));
    if (!mode.isString())
        return Decoded<DeviceState>(DecodeError::WrongType,
                                    QStringLiteral("mode must be a string"));
    const auto m = parseMode(mode.toString());
    if (!m) {
        return Decoded<DeviceState>(DecodeError::OutOfRange,
                                    QStringLiteral("mode must be \"auto\" or \"manual\""));
    }
    s.mode = *m;
    Failure error;
    bool present = false;
    const auto threshold = levelField(o, kThreshold, &present, &error);
    if (!present) {
        return Decoded<DeviceState>(DecodeError::MissingField,
                                    QStringLiteral("threshold is missing"));
    }
    if (!threshold)
        return fail<DeviceState>(error);
    s.threshold = *threshold;
    s.light = levelField(o, kLight, &present, &error);
    if (present && !s.light)
        return fail<DeviceState>(error);
    s.ts = tsField(o, &present, &error);
    if (present && !s.ts)
        return fail<DeviceState>(error);
    const QJsonValue unit = o.value(kUnit);
    if (!unit.isUndefined()) {
        if (!unit.isString())
            return Decoded<DeviceState>(DecodeError::WrongType,
                                        QStringLiteral("unit must be a string"));
        s.unit = unit.toString();
    }
    const QJsonValue instance = o.value(kInstance);
    if (!instance.isUndefined()) {
        if (!instance.isString())
            return Decoded<DeviceState>(DecodeError::WrongType,
                                        QStringLiteral("instance must be a string"));
        const QString token = instance.toString();
        const bool hex = std::all_of(token.cbegin(), token.cend(), [](QChar c) {
            return (c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f');
        });
        if (token.isEmpty() || token.size() > 32 || !hex) {
            return Decoded<DeviceState>(DecodeError::OutOfRange,
                                        QStringLiteral("instance must be 1 to 32 of 0-9 a-f"));
        }
        s.instance = token;
    }
    return s;
}

Decoded<Availability> decodeAvailability(const QByteArray &payload)
{
    if (payload.size() > MaxPayloadBytes) {
        return Decoded<Availability>(
            DecodeError::TooLarge,
            QStringLiteral("payload of %1 bytes is over the 64 KiB limit").arg(payload.size()));
    }
    if (payload == "online")
        return Availability::Online;
    if (payload == "offline")
        return Availability::Offline;
    return Decoded<Availability>(DecodeError::OutOfRange,
                                 QStringLiteral("status must be \"online\" or \"offline\""));
}

QDebug operator<<(QDebug dbg, const Telemetry &t)
{
    QDebugStateSaver saver(dbg);
    dbg.nospace() << "Telemetry(light=" << t.light;
    if (t.ts)
        dbg << ", ts=" << *t.ts;
    return dbg << ')';
}

QDebug operator<<(QDebug dbg, const Command &c)
{
    QDebugStateSaver saver(dbg);
    dbg.nospace() << "Command(";
    if (c.ledOn)
        dbg << "led_on=" << *c.ledOn << ' ';
    if (c.mode)
        dbg << "mode=" << modeName(*c.mode) << ' ';
    if (c.threshold)
        dbg << "threshold=" << *c.threshold;
    return dbg << ')';
}

QDebug operator<<(QDebug dbg, const DeviceState &s)
{
    QDebugStateSaver saver(dbg);
    dbg.nospace() << "DeviceState(led_on=" << s.ledOn << ", mode=" << modeName(s.mode)
                  << ", threshold=" << s.threshold;
    if (s.light)
        dbg << ", light=" << *s.light;
    if (s.ts)
        dbg << ", ts=" << *s.ts;
    if (!s.unit.isEmpty())
        dbg << ", unit=" << s.unit;
    if (!s.instance.isEmpty())
        dbg << ", instance=" << s.instance;
    return dbg << ')';
}

QDebug operator<<(QDebug dbg, Availability a)
{
    QDebugStateSaver saver(dbg);
    return dbg.noquote() << encodeAvailability(a);
}

QDebug operator<<(QDebug dbg, Mode m)
{
    QDebugStateSaver saver(dbg);
    return dbg.noquote() << modeName(m);
}

QDebug operator<<(QDebug dbg, DecodeError e)
{
    QDebugStateSaver saver(dbg);
    return dbg.noquote() << decodeErrorName(e);
}

} // namespace nightlight
