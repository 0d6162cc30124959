// The MQTT contract (PROTOCOL.md) as tables of good and bad payloads, each with its exact outcome.

#include "protocol.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

using namespace nightlight;

Q_DECLARE_METATYPE(nightlight::DecodeError)
Q_DECLARE_METATYPE(nightlight::TopicKind)

namespace {

// What encodeTelemetry() and encodeState() wrote before #12, through QJsonObject and
// QJsonDocument: the reference their output must equal byte for byte.
QByteArray referenceTelemetry(const Telemetry &t)
{
    QJsonObject o{{QStringLiteral("light"), t.light}};
    if (t.ts)
        o.insert(QStringLiteral("ts"), double(*t.ts));
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QByteArray referenceState(const DeviceState &s)
{
    QJsonObject o{{QStringLiteral("led_on"), s.ledOn},
                  {QStringLiteral("mode"), modeName(s.mode)},
                  {QStringLiteral("threshold"), s.threshold}};
    if (s.light)
        o.insert(QStringLiteral("light"), *s.light);
    if (s.ts)
        o.insert(QStringLiteral("ts"), double(*s.ts));
    if (!s.unit.isEmpty())
        o.insert(QStringLiteral("unit"), s.unit);
    if (!s.instance.isEmpty())
        o.insert(QStringLiteral("instance"), s.instance);
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

// Both encoders with `d` in every number field that takes a double; the first mismatch with the
// reference, or an empty string.
QString numberMismatch(double d)
{
    const Telemetry t{d, std::nullopt};
    DeviceState s;
    s.threshold = d;
    s.light = d;
    const QList<std::pair<QByteArray, QByteArray>> pairs = {
        {encodeTelemetry(t), referenceTelemetry(t)}, {encodeState(s), referenceState(s)}};
    for (const auto &[ours, reference] : pairs) {
        if (ours != reference) {
            return QStringLiteral("%1: %2 instead of %3")
                .arg(QString::number(d, 'g', 17), QString::fromUtf8(ours),
                     QString::fromUtf8(reference));
        }
    }
    return QString();
}

} // namespace

class TestProtocol : public QObject
{
    Q_OBJECT

private slots:
    void deviceId_data();
    void deviceId();
    void topics();
    void parseTopic_data();
    void parseTopic();
    void decodeTelemetry_data();
    void decodeTelemetry();
    void decodeCommand_data();
    void decodeCommand();
    void decodeState_data();
    void decodeState();
    void decodeAvailability_data();
    void decodeAvailability();
    void encodeExactBytes();
    void encodeNumbers_data();
    void encodeNumbers();
    void encodeTimestamps_data();
    void encodeTimestamps();
    void encodeOptionalFields_data();
    void encodeOptionalFields();
    void encodeStrings_data();
    void encodeStrings();
    void encodeRandomNumbers();
    void encodeRandomStrings();
    void roundTrip();
    void lessonPayloads();
    void randomBytesNeverCrash();
    void edgeCaseScanAgreesWithQt();
};

void TestProtocol::deviceId_data()
{
    QTest::addColumn<QString>("id");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("errorPart");

    QTest::newRow("lesson id") << QStringLiteral("nightlight") << true << QString();
    QTest::newRow("all allowed characters") << QStringLiteral("Az09-_.") << true << QString();
    QTest::newRow("one character") << QStringLiteral("x") << true << QString();
    QTest::newRow("64 characters") << QString(64, u'a') << true << QString();
    QTest::newRow("65 characters") << QString(65, u'a') << false << QStringLiteral("65 characters");
    QTest::newRow("empty") << QString() << false << QStringLiteral("empty");
    QTest::newRow("plus wildcard") << QStringLiteral("a+b") << false << QStringLiteral("'+'");
    QTest::newRow("hash wildcard") << QStringLiteral("#") << false << QStringLiteral("'#'");
    QTest::newRow("slash") << QStringLiteral("a/b") << false << QStringLiteral("'/'");
    QTest::newRow("space") << QStringLiteral("my light") << false << QStringLiteral("' '");
    QTest::newRow("non-ASCII letter")
        << QStringLiteral("al\u00f6") << false << QStringLiteral("only A-Z");
    QTest::newRow("NUL") << QString(QChar(0)) << false << QStringLiteral("only A-Z");
    // The message shows the whole character, not half of its surrogate pair (#9).
    QTest::newRow("emoji") << QStringLiteral("lamp\U0001F4A1") << false
                           << QStringLiteral("device id \"lamp\U0001F4A1\" contains '\U0001F4A1'");
    QTest::newRow("NUL shown as an escape")
        << QStringLiteral("a") + QChar(0) << false << QStringLiteral("contains '\\u0000'");
    QTest::newRow("newline shown as an escape")
        << QStringLiteral("a\nb") << false << QStringLiteral("\"a\\u000ab\" contains '\\u000a'");
    QTest::newRow("lone surrogate shown as an escape")
        << QStringLiteral("a") + QChar(0xd83d) << false << QStringLiteral("contains '\\ud83d'");
}

void TestProtocol::deviceId()
{
    QFETCH(QString, id);
    QFETCH(bool, valid);
    QFETCH(QString, errorPart);
    QCOMPARE(isValidDeviceId(id), valid);
    const QString error = deviceIdError(id);
    QCOMPARE(error.isEmpty(), valid);
    QVERIFY2(error.contains(errorPart), qPrintable(error));
}

void TestProtocol::topics()
{
    QCOMPARE(telemetryTopic(QStringLiteral("n1")), QStringLiteral("n1/telemetry"));
    QCOMPARE(commandsTopic(QStringLiteral("n1")), QStringLiteral("n1/commands"));
    QCOMPARE(stateTopic(QStringLiteral("n1")), QStringLiteral("n1/state"));
    QCOMPARE(statusTopic(QStringLiteral("n1")), QStringLiteral("n1/status"));
    QCOMPARE(discoveryTopic(TopicKind::Status), QStringLiteral("+/status"));
    QCOMPARE(discoveryTopic(TopicKind::Telemetry), QStringLiteral("+/telemetry"));
}

void TestProtocol::parseTopic_data()
{
    QTest::addColumn<QString>("topic");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("id");
    QTest::addColumn<TopicKind>("kind");

    QTest::newRow("telemetry") << QStringLiteral("n1/telemetry") << true << QStringLiteral("n1")
                               << TopicKind::Telemetry;
    QTest::newRow("commands") << QStringLiteral("a.b/commands") << true << QStringLiteral("a.b")
                              << TopicKind::Commands;
    QTest::newRow("state") << QStringLiteral("x/state") << true << QStringLiteral("x")
                           << TopicKind::State;
    QTest::newRow("status") << QStringLiteral("x/status") << true << QStringLiteral("x")
                            << TopicKind::Status;
    QTest::newRow("unknown kind") << QStringLiteral("x/other") << false << QString()
                                  << TopicKind::Status;
    QTest::newRow("deeper level") << QStringLiteral("x/state/extra") << false << QString()
                                  << TopicKind::State;
    QTest::newRow("no slash") << QStringLiteral("telemetry") << false << QString()
                              << TopicKind::Telemetry;
    QTest::newRow("empty id") << QStringLiteral("/telemetry") << false << QString()
                              << TopicKind::Telemetry;
    QTest::newRow("id with space")
        << QStringLiteral("a b/telemetry") << false << QString() << TopicKind::Telemetry;
}

void TestProtocol::parseTopic()
{
    QFETCH(QString, topic);
    QFETCH(bool, valid);
    QFETCH(QString, id);
    QFETCH(TopicKind, kind);
    const auto parsed = nightlight::parseTopic(topic);
    QCOMPARE(parsed.has_value(), valid);
    if (valid) {
        QCOMPARE(parsed->deviceId, id);
        QCOMPARE(parsed->kind, kind);
    }
}

void TestProtocol::decodeTelemetry_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<DecodeError>("error");
    QTest::addColumn<double>("light");
    QTest::addColumn<qint64>("ts"); // -1: absent

    QTest::newRow("lesson payload")
        << QByteArray(R"({"light": 412})") << DecodeError::None << 412.0 << qint64(-1);
    QTest::newRow("with ts") << QByteArray(R"({"light": 412, "ts": 1795527578123})")
                             << DecodeError::None << 412.0 << qint64(1795527578123);
    QTest::newRow("fractional lux")
        << QByteArray(R"({"light": 12.5})") << DecodeError::None << 12.5 << qint64(-1);
    QTest::newRow("zero") << QByteArray(R"({"light": 0})") << DecodeError::None << 0.0
                          << qint64(-1);
    QTest::newRow("unknown keys ignored")
        << QByteArray(R"({"light": 5, "humidity": "x", "extra": [1]})") << DecodeError::None << 5.0
        << qint64(-1);
    QTest::newRow("not JSON") << QByteArray("light=412") << DecodeError::NotJson << 0.0
                              << qint64(-1);
    QTest::newRow("empty payload") << QByteArray() << DecodeError::NotJson << 0.0 << qint64(-1);
    QTest::newRow("truncated JSON")
        << QByteArray(R"({"light": 4)") << DecodeError::NotJson << 0.0 << qint64(-1);
    QTest::newRow("JSON array") << QByteArray("[412]") << DecodeError::NotObject << 0.0
                                << qint64(-1);
    QTest::newRow("JSON number") << QByteArray("412") << DecodeError::NotObject << 0.0
                                 << qint64(-1);
    QTest::newRow("JSON string") << QByteArray(R"("412")") << DecodeError::NotObject << 0.0
                                 << qint64(-1);
    QTest::newRow("missing light")
        << QByteArray(R"({"lux": 412})") << DecodeError::MissingField << 0.0 << qint64(-1);
    QTest::newRow("light is a string")
        << QByteArray(R"({"light": "412"})") << DecodeError::WrongType << 0.0 << qint64(-1);
    QTest::newRow("light is a bool")
        << QByteArray(R"({"light": true})") << DecodeError::WrongType << 0.0 << qint64(-1);
    QTest::newRow("light is null")
        << QByteArray(R"({"light": null})") << DecodeError::WrongType << 0.0 << qint64(-1);
    QTest::newRow("light is an object")
        << QByteArray(R"({"light": {"v": 1}})") << DecodeError::WrongType << 0.0 << qint64(-1);
    QTest::newRow("light negative")
        << QByteArray(R"({"light": -1})") << DecodeError::OutOfRange << 0.0 << qint64(-1);
    QTest::newRow("light huge") << QByteArray(R"({"light": 1e300})") << DecodeError::OutOfRange
                                << 0.0 << qint64(-1);
    // Qt's JSON parser refuses numbers beyond the range of a double.
    QTest::newRow("light overflows double")
        << QByteArray(R"({"light": 1e400})") << DecodeError::NotJson << 0.0 << qint64(-1);
    QTest::newRow("light NaN literal")
        << QByteArray(R"({"light": NaN})") << DecodeError::NotJson << 0.0 << qint64(-1);
    QTest::newRow("light Infinity literal")
        << QByteArray(R"({"light": Infinity})") << DecodeError::NotJson << 0.0 << qint64(-1);
    QTest::newRow("ts is a string") << QByteArray(R"({"light": 1, "ts": "now"})")
                                    << DecodeError::WrongType << 0.0 << qint64(-1);
    QTest::newRow("ts fractional")
        << QByteArray(R"({"light": 1, "ts": 1.5})") << DecodeError::OutOfRange << 0.0 << qint64(-1);
    QTest::newRow("ts negative") << QByteArray(R"({"light": 1, "ts": -5})")
                                 << DecodeError::OutOfRange << 0.0 << qint64(-1);
    QTest::newRow("ts beyond 2^53") << QByteArray(R"({"light": 1, "ts": 1e20})")
                                    << DecodeError::OutOfRange << 0.0 << qint64(-1);
    QByteArray big = R"({"light": 1, "pad": ")" + QByteArray(70 * 1024, 'x') + R"("})";
    QTest::newRow("70 KiB payload") << big << DecodeError::TooLarge << 0.0 << qint64(-1);
    QTest::newRow("invalid UTF-8") << QByteArray("{\"light\": 1, \"n\": \"\xff\xfe\"}")
                                   << DecodeError::InvalidUtf8 << 0.0 << qint64(-1);
    QTest::newRow("overlong UTF-8 slash") << QByteArray("{\"light\": 1, \"n\": \"\xc0\xaf\"}")
                                          << DecodeError::InvalidUtf8 << 0.0 << qint64(-1);
    QTest::newRow("valid UTF-8 text") << QByteArray("{\"light\": 3, \"room\": \"শোবার ঘর\"}")
                                      << DecodeError::None << 3.0 << qint64(-1);
    // Edge cases Qt's parser would accept (#9, docs/DESIGN.md).
    QTest::newRow("byte-order mark")
        << QByteArray("\xef\xbb\xbf{\"light\": 1}") << DecodeError::NotJson << 0.0 << qint64(-1);
    QTest::newRow("byte-order mark inside a string is fine")
        << QByteArray("{\"light\": 1, \"n\": \"\xef\xbb\xbf\"}") << DecodeError::None << 1.0
        << qint64(-1);
    QTest::newRow("duplicate light") << QByteArray(R"({"light": 1, "light": 2})")
                                     << DecodeError::DuplicateKey << 0.0 << qint64(-1);
    QTest::newRow("duplicate light, one escaped") << QByteArray(R"({"light": 1, "lig\u0068t": 2})")
                                                  << DecodeError::DuplicateKey << 0.0 << qint64(-1);
    QTest::newRow("duplicate ts") << QByteArray(R"({"ts": 5, "light": 1, "ts": 6})")
                                  << DecodeError::DuplicateKey << 0.0 << qint64(-1);
    QTest::newRow("duplicate unknown key") << QByteArray(R"({"light": 1, "x": [], "x": {}})")
                                           << DecodeError::DuplicateKey << 0.0 << qint64(-1);
    QTest::newRow("duplicate key in a nested object is fine")
        << QByteArray(R"({"light": 1, "extra": {"a": 1, "a": 2}, "list": [{"b": 1, "b": 1}]})")
        << DecodeError::None << 1.0 << qint64(-1);
    QTest::newRow("nested key named like a top-level one is fine")
        << QByteArray(R"({"extra": {"light": 2}, "light": 1})") << DecodeError::None << 1.0
        << qint64(-1);
    QTest::newRow("key-like text in a value is fine")
        << QByteArray(R"({"light": 1, "note": "\"light\": 2, {\"light\"}", "a": ["light"]})")
        << DecodeError::None << 1.0 << qint64(-1);
    QTest::newRow("lone high surrogate") << QByteArray(R"({"light": 1, "room": "\ud800"})")
                                         << DecodeError::UnpairedSurrogate << 0.0 << qint64(-1);
    QTest::newRow("lone low surrogate") << QByteArray(R"({"light": 1, "room": "\udc00"})")
                                        << DecodeError::UnpairedSurrogate << 0.0 << qint64(-1);
    QTest::newRow("high surrogate then a letter")
        << QByteArray(R"({"light": 1, "room": "\ud83dx"})") << DecodeError::UnpairedSurrogate << 0.0
        << qint64(-1);
    QTest::newRow("high surrogate then a BMP escape")
        << QByteArray(R"({"light": 1, "room": "\ud83d\u0041"})") << DecodeError::UnpairedSurrogate
        << 0.0 << qint64(-1);
    QTest::newRow("two high surrogates") << QByteArray(R"({"light": 1, "room": "\ud83d\ud83d"})")
                                         << DecodeError::UnpairedSurrogate << 0.0 << qint64(-1);
    QTest::newRow("low surrogate before a high one")
        << QByteArray(R"({"light": 1, "room": "\udca1\ud83d"})") << DecodeError::UnpairedSurrogate
        << 0.0 << qint64(-1);
    QTest::newRow("high surrogate at the end of a string")
        << QByteArray(R"({"light": 1, "room": "lamp\ud83d"})") << DecodeError::UnpairedSurrogate
        << 0.0 << qint64(-1);
    QTest::newRow("lone surrogate in a key") << QByteArray(R"({"\udfff": 1, "light": 1})")
                                             << DecodeError::UnpairedSurrogate << 0.0 << qint64(-1);
    QTest::newRow("lone surrogate in a nested string")
        << QByteArray(R"({"light": 1, "x": [{"y": "\ud800"}]})") << DecodeError::UnpairedSurrogate
        << 0.0 << qint64(-1);
    QTest::newRow("valid surrogate pair is fine")
        << QByteArray(R"({"light": 2, "room": "\ud83d\udca1"})") << DecodeError::None << 2.0
        << qint64(-1);
    QTest::newRow("valid surrogate pair in capitals is fine")
        << QByteArray(R"({"light": 2, "room": "\uD83D\uDCA1"})") << DecodeError::None << 2.0
        << qint64(-1);
    QTest::newRow("escaped backslash before u is no escape")
        << QByteArray(R"({"light": 2, "path": "C:\\ud800"})") << DecodeError::None << 2.0
        << qint64(-1);
}

void TestProtocol::decodeTelemetry()
{
    QFETCH(QByteArray, payload);
    QFETCH(DecodeError, error);
    QFETCH(double, light);
    QFETCH(qint64, ts);
    const auto decoded = nightlight::decodeTelemetry(payload);
    QCOMPARE(decoded.error(), error);
    QCOMPARE(decoded.isValid(), error == DecodeError::None);
    QCOMPARE(decoded.errorString().isEmpty(), error == DecodeError::None);
    if (decoded) {
        QCOMPARE(decoded->light, light);
        QCOMPARE(decoded->ts.value_or(-1), ts);
    }
}

void TestProtocol::decodeCommand_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<DecodeError>("error");
    QTest::addColumn<QString>("message");
    QTest::addColumn<int>("ledOn"); // -1 absent, 0 false, 1 true
    QTest::addColumn<int>("mode"); // -1 absent, 0 auto, 1 manual
    QTest::addColumn<double>("threshold"); // -1 absent

    QTest::newRow("lesson on") << QByteArray(R"({"led_on": true})") << DecodeError::None
                               << QString() << 1 << -1 << -1.0;
    QTest::newRow("lesson off") << QByteArray(R"({"led_on":false})") << DecodeError::None
                                << QString() << 0 << -1 << -1.0;
    QTest::newRow("back to auto") << QByteArray(R"({"mode": "auto"})") << DecodeError::None
                                  << QString() << -1 << 0 << -1.0;
    QTest::newRow("manual") << QByteArray(R"({"mode": "manual"})") << DecodeError::None << QString()
                            << -1 << 1 << -1.0;
    QTest::newRow("threshold") << QByteArray(R"({"threshold": 250})") << DecodeError::None
                               << QString() << -1 << -1 << 250.0;
    QTest::newRow("threshold with auto") << QByteArray(R"({"threshold": 250, "mode": "auto"})")
                                         << DecodeError::None << QString() << -1 << 0 << 250.0;
    QTest::newRow("led with threshold") << QByteArray(R"({"threshold": 10, "led_on": true})")
                                        << DecodeError::None << QString() << 1 << -1 << 10.0;
    QTest::newRow("unknown key beside") << QByteArray(R"({"led_on": true, "colour": "red"})")
                                        << DecodeError::None << QString() << 1 << -1 << -1.0;
    QTest::newRow("led_on is a string")
        << QByteArray(R"({"led_on": "true"})") << DecodeError::WrongType
        << QStringLiteral("led_on must be a bool") << -1 << -1 << -1.0;
    QTest::newRow("led_on is a number")
        << QByteArray(R"({"led_on": 1})") << DecodeError::WrongType
        << QStringLiteral("led_on must be a bool") << -1 << -1 << -1.0;
    QTest::newRow("mode is a number")
        << QByteArray(R"({"mode": 1})") << DecodeError::WrongType
        << QStringLiteral("mode must be a string") << -1 << -1 << -1.0;
    QTest::newRow("mode unknown") << QByteArray(R"({"mode": "party"})") << DecodeError::OutOfRange
                                  << QStringLiteral("mode must be \"auto\" or \"manual\"") << -1
                                  << -1 << -1.0;
    QTest::newRow("mode wrong case")
        << QByteArray(R"({"mode": "AUTO"})") << DecodeError::OutOfRange
        << QStringLiteral("mode must be \"auto\" or \"manual\"") << -1 << -1 << -1.0;
    QTest::newRow("threshold is a string")
        << QByteArray(R"({"threshold": "300"})") << DecodeError::WrongType
        << QStringLiteral("threshold must be a number") << -1 << -1 << -1.0;
    QTest::newRow("threshold negative")
        << QByteArray(R"({"threshold": -3})") << DecodeError::OutOfRange
        << QStringLiteral("threshold must be between 0 and 1e+06") << -1 << -1 << -1.0;
    QTest::newRow("threshold huge")
        << QByteArray(R"({"threshold": 1e99})") << DecodeError::OutOfRange
        << QStringLiteral("threshold must be between 0 and 1e+06") << -1 << -1 << -1.0;
    QTest::newRow("empty object") << QByteArray("{}") << DecodeError::NoCommand
                                  << QStringLiteral("command has none of led_on, mode, threshold")
                                  << -1 << -1 << -1.0;
    QTest::newRow("only unknown keys")
        << QByteArray(R"({"blink": true})") << DecodeError::NoCommand
        << QStringLiteral("command has none of led_on, mode, threshold") << -1 << -1 << -1.0;
    QTest::newRow("led_on with auto")
        << QByteArray(R"({"led_on": true, "mode": "auto"})") << DecodeError::Conflict
        << QStringLiteral("led_on and mode \"auto\" contradict each other") << -1 << -1 << -1.0;
    QTest::newRow("JSON array") << QByteArray(R"([{"led_on": true}])") << DecodeError::NotObject
                                << QStringLiteral("payload is not a JSON object") << -1 << -1
                                << -1.0;
    QTest::newRow("JSON true") << QByteArray("true") << DecodeError::NotObject
                               << QStringLiteral("payload is not a JSON object") << -1 << -1
                               << -1.0;
    QTest::newRow("python repr") << QByteArray("{'led_on': True}") << DecodeError::NotJson
                                 << QString() << -1 << -1 << -1.0;
    QTest::newRow("70 KiB payload")
        << (QByteArray(R"({"led_on": true, "pad": ")") + QByteArray(70 * 1024, 'x') + "\"}")
        << DecodeError::TooLarge
        << QStringLiteral("payload of 71707 bytes is over the 64 KiB limit") << -1 << -1 << -1.0;
    QTest::newRow("exactly 64 KiB")
        << (QByteArray(R"({"led_on": true, "pad": ")") + QByteArray(64 * 1024 - 27, 'x') + "\"}")
        << DecodeError::None << QString() << 1 << -1 << -1.0;
    QTest::newRow("invalid UTF-8")
        << QByteArray("{\"led_on\": true, \"x\": \"\x80\"}") << DecodeError::InvalidUtf8
        << QStringLiteral("payload is not valid UTF-8") << -1 << -1 << -1.0;
    // Edge cases Qt's parser would accept (#9, docs/DESIGN.md).
    QTest::newRow("byte-order mark")
        << QByteArray("\xef\xbb\xbf{\"led_on\": true}") << DecodeError::NotJson
        << QStringLiteral("payload is not JSON: it starts with a byte-order mark") << -1 << -1
        << -1.0;
    QTest::newRow("duplicate led_on")
        << QByteArray(R"({"led_on":true,"led_on":false})") << DecodeError::DuplicateKey
        << QStringLiteral("duplicate key led_on") << -1 << -1 << -1.0;
    QTest::newRow("duplicate led_on, same value")
        << QByteArray(R"({"led_on": true, "led_on": true})") << DecodeError::DuplicateKey
        << QStringLiteral("duplicate key led_on") << -1 << -1 << -1.0;
    QTest::newRow("duplicate led_on, one escaped")
        << QByteArray(R"({"led_on": true, "led\u005fon": false})") << DecodeError::DuplicateKey
        << QStringLiteral("duplicate key led_on") << -1 << -1 << -1.0;
    QTest::newRow("duplicate mode")
        << QByteArray(R"({"mode": "auto", "threshold": 5, "mode": "manual"})")
        << DecodeError::DuplicateKey << QStringLiteral("duplicate key mode") << -1 << -1 << -1.0;
    QTest::newRow("duplicate threshold")
        << QByteArray(R"({"threshold": 1, "threshold": "x"})") << DecodeError::DuplicateKey
        << QStringLiteral("duplicate key threshold") << -1 << -1 << -1.0;
    QTest::newRow("duplicate key with a newline in it")
        << QByteArray(R"({"a\nb": 1, "led_on": true, "a\nb": 2})") << DecodeError::DuplicateKey
        << QStringLiteral("duplicate key a\\u000ab") << -1 << -1 << -1.0;
    QTest::newRow("same key in two nested objects is fine")
        << QByteArray(R"({"led_on": true, "a": {"led_on": 1}, "b": {"led_on": 2}})")
        << DecodeError::None << QString() << 1 << -1 << -1.0;
    QTest::newRow("lone high surrogate")
        << QByteArray(R"({"mode": "\ud800"})") << DecodeError::UnpairedSurrogate
        << QStringLiteral("unpaired UTF-16 surrogate escape \\ud800 at offset 10") << -1 << -1
        << -1.0;
    QTest::newRow("lone low surrogate")
        << QByteArray(R"({"mode": "\udc00"})") << DecodeError::UnpairedSurrogate
        << QStringLiteral("unpaired UTF-16 surrogate escape \\udc00 at offset 10") << -1 << -1
        << -1.0;
    QTest::newRow("high surrogate not followed by a low one")
        << QByteArray(R"({"led_on": true, "note": "\uD83D\u00e9"})")
        << DecodeError::UnpairedSurrogate
        << QStringLiteral("unpaired UTF-16 surrogate escape \\uD83D at offset 26") << -1 << -1
        << -1.0;
    QTest::newRow("valid surrogate pair is fine")
        << QByteArray(R"({"led_on": true, "note": "\ud83d\udca1"})") << DecodeError::None
        << QString() << 1 << -1 << -1.0;
}

void TestProtocol::decodeCommand()
{
    QFETCH(QByteArray, payload);
    QFETCH(DecodeError, error);
    QFETCH(QString, message);
    QFETCH(int, ledOn);
    QFETCH(int, mode);
    QFETCH(double, threshold);
    const auto decoded = nightlight::decodeCommand(payload);
    QCOMPARE(decoded.error(), error);
    if (!message.isEmpty())
        QCOMPARE(decoded.errorString(), message);
    QCOMPARE(decoded.isValid(), error == DecodeError::None);
    if (decoded) {
        QCOMPARE(decoded->ledOn.has_value() ? int(*decoded->ledOn) : -1, ledOn);
        QCOMPARE(decoded->mode ? (*decoded->mode == Mode::Auto ? 0 : 1) : -1, mode);
        QCOMPARE(decoded->threshold.value_or(-1.0), threshold);
    }
}

void TestProtocol::decodeState_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<DecodeError>("error");

    QTest::newRow("full state") << QByteArray(
                                       R"({"led_on": true, "mode": "manual", "threshold": 300,
                                   "light": 412, "ts": 1795527578123, "unit": "lux"})")
                                << DecodeError::None;
    QTest::newRow("minimal state")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300})")
        << DecodeError::None;
    QTest::newRow("missing led_on")
        << QByteArray(R"({"mode": "auto", "threshold": 300})") << DecodeError::MissingField;
    QTest::newRow("missing mode") << QByteArray(R"({"led_on": false, "threshold": 300})")
                                  << DecodeError::MissingField;
    QTest::newRow("missing threshold")
        << QByteArray(R"({"led_on": false, "mode": "auto"})") << DecodeError::MissingField;
    QTest::newRow("bad mode") << QByteArray(R"({"led_on": false, "mode": "off", "threshold": 300})")
                              << DecodeError::OutOfRange;
    QTest::newRow("light is a string")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "light": "1"})")
        << DecodeError::WrongType;
    QTest::newRow("unit is a number")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "unit": 1})")
        << DecodeError::WrongType;
    QTest::newRow("instance")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "instance": "9f0c"})")
        << DecodeError::None;
    QTest::newRow("instance is a number")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "instance": 9})")
        << DecodeError::WrongType;
    QTest::newRow("instance not hex")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "instance": "9F"})")
        << DecodeError::OutOfRange;
    QTest::newRow("instance empty")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "instance": ""})")
        << DecodeError::OutOfRange;
    QTest::newRow("instance too long")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "instance": ")" +
                      QByteArray(33, 'a') + R"("})")
        << DecodeError::OutOfRange;
    QTest::newRow("not an object") << QByteArray("online") << DecodeError::NotJson;
    // Edge cases Qt's parser would accept (#9, docs/DESIGN.md).
    QTest::newRow("byte-order mark")
        << QByteArray("\xef\xbb\xbf{\"led_on\": false, \"mode\": \"auto\", \"threshold\": 300}")
        << DecodeError::NotJson;
    QTest::newRow("duplicate led_on")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "led_on": true})")
        << DecodeError::DuplicateKey;
    QTest::newRow("duplicate unit")
        << QByteArray(
               R"({"led_on": false, "mode": "auto", "threshold": 300, "unit": "lux", "unit": "%"})")
        << DecodeError::DuplicateKey;
    QTest::newRow("lone high surrogate")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "unit": "\ud800"})")
        << DecodeError::UnpairedSurrogate;
    QTest::newRow("lone low surrogate")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "unit": "\udc00"})")
        << DecodeError::UnpairedSurrogate;
    QTest::newRow("high surrogate not followed by a low one")
        << QByteArray(R"({"led_on": false, "mode": "auto", "threshold": 300, "unit": "\ud800lux"})")
        << DecodeError::UnpairedSurrogate;
    QTest::newRow("valid surrogate pair is fine")
        << QByteArray(
               R"({"led_on": false, "mode": "auto", "threshold": 300, "unit": "\ud83d\udca1"})")
        << DecodeError::None;
}

void TestProtocol::decodeState()
{
    QFETCH(QByteArray, payload);
    QFETCH(DecodeError, error);
    const auto decoded = nightlight::decodeState(payload);
    QCOMPARE(decoded.error(), error);
    if (QByteArray(QTest::currentDataTag()) == "full state") {
        DeviceState expected;
        expected.ledOn = true;
        expected.mode = Mode::Manual;
        expected.threshold = 300;
        expected.light = 412;
        expected.ts = 1795527578123;
        expected.unit = QStringLiteral("lux");
        QCOMPARE(*decoded, expected);
    }
    if (QByteArray(QTest::currentDataTag()) == "instance")
        QCOMPARE(decoded->instance, QStringLiteral("9f0c"));
    if (QByteArray(QTest::currentDataTag()) == "valid surrogate pair is fine")
        QCOMPARE(decoded->unit, QStringLiteral("\U0001F4A1"));
}

void TestProtocol::decodeAvailability_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<DecodeError>("error");
    QTest::addColumn<bool>("online");

    QTest::newRow("online") << QByteArray("online") << DecodeError::None << true;
    QTest::newRow("offline") << QByteArray("offline") << DecodeError::None << false;
    QTest::newRow("capitalised") << QByteArray("Online") << DecodeError::OutOfRange << false;
    QTest::newRow("JSON string") << QByteArray(R"("online")") << DecodeError::OutOfRange << false;
    QTest::newRow("trailing newline") << QByteArray("online\n") << DecodeError::OutOfRange << false;
    QTest::newRow("empty (retained cleared)") << QByteArray() << DecodeError::OutOfRange << false;
    QTest::newRow("70 KiB") << QByteArray(70 * 1024, 'o') << DecodeError::TooLarge << false;
    QTest::newRow("byte-order mark")
        << QByteArray("\xef\xbb\xbfonline") << DecodeError::OutOfRange << false;
}

void TestProtocol::decodeAvailability()
{
    QFETCH(QByteArray, payload);
    QFETCH(DecodeError, error);
    QFETCH(bool, online);
    const auto decoded = nightlight::decodeAvailability(payload);
    QCOMPARE(decoded.error(), error);
    if (decoded)
        QCOMPARE(*decoded == Availability::Online, online);
}

void TestProtocol::encodeExactBytes()
{
    QCOMPARE(encodeTelemetry({412, std::nullopt}), QByteArray(R"({"light":412})"));
    QCOMPARE(encodeTelemetry({412, 1795527578123}),
             QByteArray(R"({"light":412,"ts":1795527578123})"));
    QCOMPARE(encodeTelemetry({12.5, std::nullopt}), QByteArray(R"({"light":12.5})"));
    QCOMPARE(encodeCommand({true, std::nullopt, std::nullopt}), QByteArray(R"({"led_on":true})"));
    QCOMPARE(encodeCommand({std::nullopt, Mode::Auto, std::nullopt}),
             QByteArray(R"({"mode":"auto"})"));
    DeviceState s;
    s.ledOn = true;
    s.mode = Mode::Manual;
    s.threshold = 300;
    s.light = 412;
    s.ts = 1795527578123;
    QCOMPARE(
        encodeState(s),
        QByteArray(
            R"({"led_on":true,"light":412,"mode":"manual","threshold":300,"ts":1795527578123})"));
    // Every field, keys in QJsonObject's sorted order.
    s.ledOn = false;
    s.mode = Mode::Auto;
    s.threshold = 299.5;
    s.light = 0.1;
    s.ts = 1;
    s.unit = QStringLiteral("lux");
    s.instance = QStringLiteral("9f0c");
    QCOMPARE(encodeState(s),
             QByteArray(R"({"instance":"9f0c","led_on":false,"light":0.1,"mode":"auto",)"
                        R"("threshold":299.5,"ts":1,"unit":"lux"})"));
    QCOMPARE(encodeAvailability(Availability::Online), QByteArray("online"));
    QCOMPARE(encodeAvailability(Availability::Offline), QByteArray("offline"));
}

void TestProtocol::encodeNumbers_data()
{
    QTest::addColumn<double>("value");
    QTest::addColumn<QByteArray>("json"); // as Qt 6.4's QJsonDocument writes it

    const double maxExact = double(qint64(1) << 53);
    QTest::newRow("zero") << 0.0 << QByteArray("0");
    QTest::newRow("negative zero") << -0.0 << QByteArray("0");
    QTest::newRow("half") << 0.5 << QByteArray("0.5");
    QTest::newRow("0.1") << 0.1 << QByteArray("0.1");
    QTest::newRow("one third") << 1 / 3.0 << QByteArray("0.3333333333333333");
    QTest::newRow("299.99999") << 299.99999 << QByteArray("299.99999");
    QTest::newRow("300") << 300.0 << QByteArray("300");
    QTest::newRow("999.5") << 999.5 << QByteArray("999.5");
    QTest::newRow("1000") << 1000.0 << QByteArray("1000");
    QTest::newRow("1023") << 1023.0 << QByteArray("1023");
    QTest::newRow("1e-4") << 1e-4 << QByteArray("1e-04");
    QTest::newRow("1.234e-4") << 1.234e-4 << QByteArray("0.0001234");
    QTest::newRow("1.234e-5") << 1.234e-5 << QByteArray("1.234e-05");
    QTest::newRow("0.0025") << 0.0025 << QByteArray("0.0025");
    QTest::newRow("1e-7") << 1e-7 << QByteArray("1e-07");
    QTest::newRow("smallest denormal")
        << std::numeric_limits<double>::denorm_min() << QByteArray("5e-324");
    QTest::newRow("123456789.123") << 123456789.123 << QByteArray("123456789.123");
    QTest::newRow("MaxLevel") << MaxLevel << QByteArray("1000000");
    QTest::newRow("just below MaxLevel")
        << std::nextafter(MaxLevel, 0.0) << QByteArray("999999.9999999999");
    QTest::newRow("just above MaxLevel")
        << std::nextafter(MaxLevel, 2 * MaxLevel) << QByteArray("1000000.0000000001");
    QTest::newRow("2^52 + 0.5") << 4503599627370495.5 << QByteArray("4503599627370495.5");
    QTest::newRow("2^53") << maxExact << QByteArray("9007199254740992");
    QTest::newRow("-2^53") << -maxExact << QByteArray("-9007199254740992");
    // Beyond 2^53 Qt keeps a double, written in the shorter of the two forms.
    QTest::newRow("2^53 + 2") << maxExact + 2 << QByteArray("9007199254740994");
    QTest::newRow("-2^53 - 2") << -maxExact - 2 << QByteArray("-9007199254740994");
    QTest::newRow("1e16") << 1e16 << QByteArray("1e+16");
    QTest::newRow("1.2e16") << 1.2e16 << QByteArray("1.2e+16");
    QTest::newRow("2^63") << 9223372036854775808.0 << QByteArray("9223372036854776000");
    QTest::newRow("1e21") << 1e21 << QByteArray("1e+21");
    QTest::newRow("1e22") << 1e22 << QByteArray("1e+22");
    QTest::newRow("1e100") << 1e100 << QByteArray("1e+100");
    QTest::newRow("largest double")
        << std::numeric_limits<double>::max() << QByteArray("1.7976931348623157e+308");
    QTest::newRow("-1.5") << -1.5 << QByteArray("-1.5");
    QTest::newRow("-1") << -1.0 << QByteArray("-1");
    QTest::newRow("infinity") << std::numeric_limits<double>::infinity() << QByteArray("null");
    QTest::newRow("-infinity") << -std::numeric_limits<double>::infinity() << QByteArray("null");
    QTest::newRow("NaN") << std::numeric_limits<double>::quiet_NaN() << QByteArray("null");
}

void TestProtocol::encodeNumbers()
{
    QFETCH(double, value);
    QFETCH(QByteArray, json);
    const QString mismatch = numberMismatch(value);
    QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));
    QCOMPARE(encodeTelemetry({value, std::nullopt}), QByteArray("{\"light\":" + json + '}'));
    // What is in the contract's range reads back as it was.
    if (value >= 0 && value <= MaxLevel) {
        const auto t = nightlight::decodeTelemetry(encodeTelemetry({value, std::nullopt}));
        QVERIFY(t);
        QCOMPARE(t->light, value);
        DeviceState s;
        s.threshold = value;
        s.light = value;
        const auto decoded = nightlight::decodeState(encodeState(s));
        QVERIFY(decoded);
        QCOMPARE(*decoded, s);
    }
}

void TestProtocol::encodeTimestamps_data()
{
    QTest::addColumn<qint64>("ts");
    QTest::addColumn<QByteArray>("json");

    QTest::newRow("1") << qint64(1) << QByteArray("1");
    QTest::newRow("lesson time") << qint64(1795527578123) << QByteArray("1795527578123");
    QTest::newRow("2^53 - 1") << MaxTimestampMs - 1 << QByteArray("9007199254740991");
    QTest::newRow("2^53") << MaxTimestampMs << QByteArray("9007199254740992");
    // Out of the contract, but the encoder writes them as Qt did.
    QTest::newRow("0") << qint64(0) << QByteArray("0");
    QTest::newRow("-1") << qint64(-1) << QByteArray("-1");
    QTest::newRow("2^53 + 1 (rounds to 2^53)")
        << MaxTimestampMs + 1 << QByteArray("9007199254740992");
    QTest::newRow("2^53 + 3 (rounds up)") << MaxTimestampMs + 3 << QByteArray("9007199254740996");
    QTest::newRow("largest qint64")
        << std::numeric_limits<qint64>::max() << QByteArray("9223372036854776000");
    QTest::newRow("smallest qint64")
        << std::numeric_limits<qint64>::min() << QByteArray("-9223372036854776000");
}

void TestProtocol::encodeTimestamps()
{
    QFETCH(qint64, ts);
    QFETCH(QByteArray, json);
    const Telemetry t{412, ts};
    QCOMPARE(encodeTelemetry(t), referenceTelemetry(t));
    QCOMPARE(encodeTelemetry(t), QByteArray("{\"light\":412,\"ts\":" + json + '}'));
    DeviceState s;
    s.ts = ts;
    QCOMPARE(encodeState(s), referenceState(s));
    if (ts >= 1 && ts <= MaxTimestampMs) {
        QCOMPARE(*nightlight::decodeTelemetry(encodeTelemetry(t)), t);
        QCOMPARE(*nightlight::decodeState(encodeState(s)), s);
    }
}

void TestProtocol::encodeOptionalFields_data()
{
    QTest::addColumn<int>(
        "fields"); // bits: 1 light, 2 ts, 4 unit, 8 instance, 16 led_on, 32 manual

    for (int fields = 0; fields < 64; ++fields) {
        QStringList names;
        for (const char *name : {"light", "ts", "unit", "instance", "led_on", "manual"}) {
            if (fields & (1 << names.size()))
                names << QString::fromLatin1(name);
            else
                names << QStringLiteral("-");
        }
        QTest::addRow("%s", qPrintable(names.join(u' '))) << fields;
    }
}

void TestProtocol::encodeOptionalFields()
{
    QFETCH(int, fields);
    DeviceState s;
    s.threshold = 299.5;
    if (fields & 1)
        s.light = 12.25;
    if (fields & 2)
        s.ts = 1795527578123;
    if (fields & 4)
        s.unit = QStringLiteral("lux");
    if (fields & 8)
        s.instance = QStringLiteral("9f0c");
    s.ledOn = fields & 16;
    s.mode = (fields & 32) ? Mode::Manual : Mode::Auto;
    QCOMPARE(encodeState(s), referenceState(s));
    QCOMPARE(*nightlight::decodeState(encodeState(s)), s);

    const Telemetry t{12.25, (fields & 2) ? std::optional<qint64>(1795527578123) : std::nullopt};
    QCOMPARE(encodeTelemetry(t), referenceTelemetry(t));
    QCOMPARE(*nightlight::decodeTelemetry(encodeTelemetry(t)), t);
}

void TestProtocol::encodeStrings_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QByteArray>("json"); // as Qt 6.4 writes it, quotes included

    QTest::newRow("plain") << QStringLiteral("lux") << QByteArray(R"("lux")");
    QTest::newRow("quote") << QStringLiteral("a\"b") << QByteArray(R"("a\"b")");
    QTest::newRow("backslash") << QStringLiteral("C:\\lux") << QByteArray(R"("C:\\lux")");
    QTest::newRow("slash stays") << QStringLiteral("m/s") << QByteArray(R"("m/s")");
    QTest::newRow("short escapes") << QStringLiteral("\b\f\n\r\t") << QByteArray(R"("\b\f\n\r\t")");
    QTest::newRow("NUL") << QString(QChar(0)) << QByteArray(R"("\u0000")");
    QTest::newRow("unit separator") << QString(QChar(0x1f)) << QByteArray(R"("\u001f")");
    QTest::newRow("escape character") << QString(QChar(0x1b)) << QByteArray(R"("\u001b")");
    QTest::newRow("DEL stays") << QString(QChar(0x7f)) << QByteArray("\"\x7f\"");
    QTest::newRow("all controls")
        <<
        [] {
            QString all;
            for (char16_t c = 0; c < 0x20; ++c)
                all += QChar(c);
            return all;
        }()
        << QByteArray(R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r)"
                      R"(\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018)"
                      R"(\u0019\u001a\u001b\u001c\u001d\u001e\u001f")");
    QTest::newRow("Latin-1") << QStringLiteral("caf\u00e9 \u00b5W")
                             << QByteArray("\"caf\xc3\xa9 \xc2\xb5W\"");
    QTest::newRow("Bengali") << QStringLiteral("শোবার ঘর") << QByteArray("\"শোবার ঘর\"");
    QTest::newRow("line separator stays")
        << QStringLiteral("\u2028") << QByteArray("\"\xe2\x80\xa8\"");
    QTest::newRow("U+FFFF") << QString(QChar(0xffff)) << QByteArray("\"\xef\xbf\xbf\"");
    QTest::newRow("emoji") << QStringLiteral("\U0001F4A1") << QByteArray("\"\xf0\x9f\x92\xa1\"");
    QTest::newRow("last code point")
        << QStringLiteral("\U0010FFFF") << QByteArray("\"\xf4\x8f\xbf\xbf\"");
    // Half of a surrogate pair alone has no UTF-8; Qt writes it as an escape.
    QTest::newRow("lone high surrogate") << QString(QChar(0xd83d)) << QByteArray(R"("\ud83d")");
    QTest::newRow("lone low surrogate") << QString(QChar(0xdca1)) << QByteArray(R"("\udca1")");
    QTest::newRow("high surrogate then a letter")
        << QString(QChar(0xd83d)) + u'x' << QByteArray(R"("\ud83dx")");
    QTest::newRow("two high surrogates")
        << QString(QChar(0xd83d)) + QChar(0xd83d) << QByteArray(R"("\ud83d\ud83d")");
    QTest::newRow("low then high surrogate")
        << QString(QChar(0xdca1)) + QChar(0xd83d) << QByteArray(R"("\udca1\ud83d")");
    QTest::newRow("lone surrogate before a pair") << QString(QChar(0xd83d)) +
            QStringLiteral("\U0001F4A1") << QByteArray("\"\\ud83d\xf0\x9f\x92\xa1\"");
    const QByteArray mixed = "a\\\"\\\\\\n\xc3\xa9\xf0\x9f\x92\xa1";
    QTest::newRow("long mixed") << QStringLiteral("a\"\\\n\u00e9\U0001F4A1").repeated(50)
                                << QByteArray('"' + mixed.repeated(50) + '"');
}

void TestProtocol::encodeStrings()
{
    QFETCH(QString, text);
    QFETCH(QByteArray, json);
    DeviceState s;
    s.unit = text;
    QCOMPARE(encodeState(s), referenceState(s));
    QCOMPARE(encodeState(s),
             QByteArray(R"({"led_on":false,"mode":"auto","threshold":300,"unit":)" + json + '}'));
    DeviceState withInstance;
    withInstance.instance = text;
    withInstance.unit = text;
    QCOMPARE(encodeState(withInstance), referenceState(withInstance));
    QVERIFY(encodeState(withInstance).startsWith(QByteArray("{\"instance\":" + json + ',')));
    // Whole UTF-16 reads back as it was; a lone surrogate is refused by our own decoder (#9).
    const auto decoded = nightlight::decodeState(encodeState(s));
    if (text.isValidUtf16()) {
        QVERIFY2(decoded, qPrintable(decoded.errorString()));
        QCOMPARE(*decoded, s);
    } else {
        QCOMPARE(decoded.error(), DecodeError::UnpairedSurrogate);
    }
}

void TestProtocol::encodeRandomNumbers()
{
    // The contract's range 0..MaxLevel as a sensor gives it (whole, a few decimals) and as any
    // double in it, plus timestamps in 1..2^53 and doubles of every magnitude and sign (random
    // bits), each written by both encoders and compared with Qt's.
    QRandomGenerator rng(20261203);
    int checked = 0;
    for (int i = 0; i < 100000; ++i) {
        double d = 0;
        switch (i % 4) {
        case 0:
            d = rng.generateDouble() * MaxLevel;
            break;
        case 1:
            d = double(rng.bounded(1000001));
            break;
        case 2: {
            const double scale = std::pow(10.0, 1 + int(rng.bounded(4)));
            d = std::round(rng.generateDouble() * MaxLevel * scale) / scale;
            break;
        }
        case 3:
            d = rng.bounded(MaxLevel);
            break;
        }
        const QString mismatch = numberMismatch(d);
        QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));
        const Telemetry t{d, qint64(1 + rng.bounded(quint64(MaxTimestampMs)))};
        const QByteArray encoded = encodeTelemetry(t);
        QCOMPARE(encoded, referenceTelemetry(t));
        QCOMPARE(*nightlight::decodeTelemetry(encoded), t);
        ++checked;
    }
    for (int i = 0; i < 20000; ++i) {
        const quint64 bits = rng.generate64();
        double d = 0;
        std::memcpy(&d, &bits, sizeof d);
        const QString mismatch = numberMismatch(d);
        QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));
        ++checked;
    }
    QCOMPARE(checked, 120000);
}

void TestProtocol::encodeRandomStrings()
{
    // Units and instances from an alphabet of everything escapedString() treats differently.
    QRandomGenerator rng(20261204);
    const QList<QChar> alphabet = {
        u'a',          u'Z',          u'"',          u'\\',         u'/',      u'\n',     u'\t',
        QChar(0),      QChar(0x1f),   QChar(0x7f),   u'\u00e9',     u'\u07ff', u'\u0800', u'\uffff',
        QChar(0xd83d), QChar(0xdca1), QChar(0xdbff), QChar(0xdc00), u'\u2028'};
    const auto randomText = [&] {
        QString text;
        for (int n = int(rng.bounded(12)); n > 0; --n)
            text += alphabet.at(int(rng.bounded(alphabet.size())));
        return text;
    };
    for (int i = 0; i < 10000; ++i) {
        DeviceState s;
        s.unit = randomText();
        s.instance = randomText();
        s.light = rng.bounded(MaxLevel);
        QCOMPARE(encodeState(s), referenceState(s));
    }
}

void TestProtocol::roundTrip()
{
    const Telemetry t{999.25, MaxTimestampMs};
    QCOMPARE(*nightlight::decodeTelemetry(encodeTelemetry(t)), t);
    const Command c{false, Mode::Manual, 0.0};
    QCOMPARE(*nightlight::decodeCommand(encodeCommand(c)), c);
    DeviceState s;
    s.unit = QStringLiteral("lux");
    s.light = 0;
    s.instance = QStringLiteral("0123456789abcdef");
    QCOMPARE(*nightlight::decodeState(encodeState(s)), s);
}

void TestProtocol::lessonPayloads()
{
    // What the lesson's Python code sends with json.dumps: spaces after ':' and ','.
    const auto cmd = nightlight::decodeCommand(QByteArray(R"({"led_on": false})"));
    QVERIFY(cmd);
    QCOMPARE(cmd->ledOn, std::optional<bool>(false));
    const auto tel = nightlight::decodeTelemetry(QByteArray(R"({"light": 1023})"));
    QVERIFY(tel);
    QCOMPARE(tel->light, 1023.0);
    QVERIFY(!tel->ts);
}

void TestProtocol::randomBytesNeverCrash()
{
    // Every decoder gives a value or an error for anything off the network: never a crash.
    QRandomGenerator rng(20261126);
    const QByteArray alphabet = R"({}[]":,.-+eE0123456789 truefalsnulightmodeauto)";
    int valid = 0;
    for (int i = 0; i < 10000; ++i) {
        QByteArray payload(int(rng.bounded(64)), Qt::Uninitialized);
        for (char &c : payload) {
            c = (i % 2) ? char(rng.bounded(256)) : alphabet.at(int(rng.bounded(alphabet.size())));
        }
        const auto t = nightlight::decodeTelemetry(payload);
        const auto c = nightlight::decodeCommand(payload);
        const auto s = nightlight::decodeState(payload);
        const auto a = nightlight::decodeAvailability(payload);
        // Valid with no error text, or invalid with an error and a readable reason.
        const auto consistent = [](const auto &d) {
            return d.isValid() ? d.error() == DecodeError::None && d.errorString().isEmpty()
                               : d.error() != DecodeError::None && !d.errorString().isEmpty();
        };
        QVERIFY2(consistent(t) && consistent(c) && consistent(s) && consistent(a),
                 payload.toHex().constData());
        valid += t.isValid() + c.isValid() + s.isValid() + a.isValid();
    }
    // Nearly all random input is rejected.
    QVERIFY(valid < 10000 * 4);
}

void TestProtocol::edgeCaseScanAgreesWithQt()
{
    // Random objects written by Qt (keys and strings from an alphabet with both halves of a
    // surrogate pair, quotes, backslashes and controls, so that Qt's writer escapes them), decoded
    // by us: an unpaired surrogate anywhere is UnpairedSurrogate, anything else is accepted; and
    // the same text with one top-level key repeated is DuplicateKey (#9).
    QRandomGenerator rng(20261209);
    const QList<QChar> alphabet = {u'a',          u'b',          u'"',          u'\\',
                                   u'/',          u'\n',         u'{',          u'}',
                                   u':',          u',',          u'\u00e9',     QChar(0xd83d),
                                   QChar(0xdca1), QChar(0xdbff), QChar(0xdc00), QChar(0x1f)};
    const auto randomText = [&] {
        QString text;
        for (int n = int(rng.bounded(6)); n > 0; --n)
            text += alphabet.at(int(rng.bounded(alphabet.size())));
        return text;
    };
    // Keys may be empty, but never a null QString: Qt 6.8.2's QJsonObject::insert() crashes on a
    // null key (found in the trixie root, scripts/root-check.sh --suite trixie).
    const auto randomKey = [&] {
        const QString key = randomText();
        return key.isNull() ? QStringLiteral("") : key;
    };
    // Whether every key and string in `v` is whole UTF-16 (no half of a pair alone).
    std::function<bool(const QJsonValue &)> whole = [&](const QJsonValue &v) {
        if (v.isString())
            return v.toString().isValidUtf16();
        if (v.isArray()) {
            const QJsonArray a = v.toArray();
            return std::all_of(a.begin(), a.end(), whole);
        }
        const QJsonObject o = v.toObject();
        for (auto it = o.begin(); it != o.end(); ++it) {
            if (!it.key().isValidUtf16() || !whole(it.value()))
                return false;
        }
        return true;
    };
    int unpaired = 0;
    int duplicates = 0;
    for (int i = 0; i < 2000; ++i) {
        QJsonObject object{{QStringLiteral("light"), 1}};
        for (int n = int(rng.bounded(4)); n > 0; --n) {
            const QString value = randomText();
            if (rng.bounded(2))
                object.insert(randomKey(), value);
            else
                object.insert(randomKey(), QJsonObject{{randomKey(), QJsonArray{value}}});
        }
        const bool valid = whole(object);
        const QByteArray json = QJsonDocument(object).toJson(QJsonDocument::Compact);
        const auto decoded = nightlight::decodeTelemetry(json);
        QVERIFY2(decoded.error() == (valid ? DecodeError::None : DecodeError::UnpairedSurrogate),
                 json.constData());
        unpaired += !valid;
        if (!valid)
            continue;
        // "light" once more, in front.
        QByteArray repeated = json;
        repeated.insert(1, R"("light":2,)");
        QCOMPARE(nightlight::decodeTelemetry(repeated).error(), DecodeError::DuplicateKey);
        ++duplicates;
    }
    // Both kinds of case came up often enough to mean something.
    QVERIFY2(
        unpaired > 200 && duplicates > 200,
        qPrintable(QStringLiteral("%1 unpaired, %2 duplicates").arg(unpaired).arg(duplicates)));
}

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
