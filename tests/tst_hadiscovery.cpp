// Home Assistant MQTT discovery (#12): the configs of device/hadiscovery.h checked against the
// rules of Home Assistant's documentation (quoted in docs/device.md "Home Assistant"), and the
// real nightlight-device (a child process) against a real mosquitto (TestBroker): configs
// retained after start, sent again on Home Assistant's birth message, commands built from each
// command_template change the device's retained state, --ha-discovery-remove clears them.
// Home Assistant itself does not run here: its templates are evaluated by a small evaluator
// below, exact for the piece of Jinja the configs use (anything else fails the test).

#include "blackhole.h"
#include "childprocess.h"
#include "deviceprocess.h"
#include "hadiscovery.h"
#include "mqttclient.h"
#include "protocol.h"
#include "recordingclient.h"
#include "testbroker.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QSignalSpy>
#include <QTest>

#include <memory>
#include <optional>

using namespace nightlight;

namespace {

// ---- a tiny, strict Jinja evaluator ----------------------------------------------------------
// Text, {{ expr }}, {% if cond %} / {% elif cond %} / {% else %} / {% endif %} (not nested),
// where expr is `value` or `value_json.<key>` and cond is `expr == '<literal>'` or `expr`.
// Rendering follows Jinja/Python: a JSON integer prints as 300, a float as 300.5, a bool as
// True/False.

struct Rendered
{
    QString text;
    QString error; // non-empty: the template used something outside the supported piece
};

struct JinjaContext
{
    QJsonValue value; // `value`: the option or the number (command templates)
    QJsonObject valueJson; // `value_json`: the received payload (value templates)
};

std::optional<QJsonValue> lookup(const QString &expr, const JinjaContext &c)
{
    if (expr == QLatin1String("value"))
        return c.value;
    static const QRegularExpression key(QStringLiteral("^value_json\\.([a-z_]+)$"));
    const auto m = key.match(expr);
    if (m.hasMatch() && c.valueJson.contains(m.captured(1)))
        return c.valueJson.value(m.captured(1));
    return std::nullopt;
}

QString pythonText(const QJsonValue &v)
{
    if (v.isBool())
        return v.toBool() ? QStringLiteral("True") : QStringLiteral("False");
    if (v.isDouble()) {
        const double d = v.toDouble();
        if (d == double(qint64(d)))
            return QString::number(qint64(d));
        return QString::number(d, 'g', 17);
    }
    return v.toString();
}

bool truthy(const QJsonValue &v)
{
    if (v.isBool())
        return v.toBool();
    if (v.isDouble())
        return v.toDouble() != 0;
    if (v.isString())
        return !v.toString().isEmpty();
    return false;
}

std::optional<bool> condition(const QString &cond, const JinjaContext &c)
{
    static const QRegularExpression eq(QStringLiteral("^(\\S+) == '([^']*)'$"));
    if (const auto m = eq.match(cond); m.hasMatch()) {
        const auto v = lookup(m.captured(1), c);
        if (!v)
            return std::nullopt;
        return v->isString() && v->toString() == m.captured(2);
    }
    const auto v = lookup(cond, c);
    if (!v)
        return std::nullopt;
    return truthy(*v);
}

Rendered render(const QString &tpl, const JinjaContext &c)
{
    Rendered r;
    enum class Branch { None, Taking, Took, Skipping };
    Branch branch = Branch::None; // None: outside an if
    auto emitting = [&] {
        return branch == Branch::None || branch == Branch::Taking;
    };
    qsizetype i = 0;
    while (i < tpl.size()) {
        const qsizetype expr = tpl.indexOf(QLatin1String("{{"), i);
        const qsizetype stmt = tpl.indexOf(QLatin1String("{%"), i);
        qsizetype next = -1;
        if (expr >= 0 && (stmt < 0 || expr < stmt))
            next = expr;
        else
            next = stmt;
        if (next < 0) {
            if (emitting())
                r.text += tpl.mid(i);
            break;
        }
        if (emitting())
            r.text += tpl.mid(i, next - i);
        const bool isExpr = next == expr;
        const QLatin1String close = isExpr ? QLatin1String("}}") : QLatin1String("%}");
        const qsizetype end = tpl.indexOf(close, next + 2);
        if (end < 0) {
            r.error = QStringLiteral("unclosed tag at %1").arg(next);
            return r;
        }
        const QString inner = tpl.mid(next + 2, end - next - 2).trimmed();
        i = end + 2;
        if (isExpr) {
            const auto v = lookup(inner, c);
            if (!v) {
                r.error = QStringLiteral("unsupported or undefined expression: ") + inner;
                return r;
            }
            if (emitting())
                r.text += pythonText(*v);
            continue;
        }
        if (inner.startsWith(QLatin1String("if ")) || inner.startsWith(QLatin1String("elif "))) {
            const bool isIf = inner.startsWith(QLatin1String("if "));
            if (isIf != (branch == Branch::None)) {
                r.error = QStringLiteral("misplaced (or nested) ") + inner;
                return r;
            }
            const auto cond = condition(inner.mid(isIf ? 3 : 5).trimmed(), c);
            if (!cond) {
                r.error = QStringLiteral("unsupported condition: ") + inner;
                return r;
            }
            if (isIf)
                branch = *cond ? Branch::Taking : Branch::Skipping;
            else if (branch == Branch::Taking || branch == Branch::Took)
                branch = Branch::Took;
            else
                branch = *cond ? Branch::Taking : Branch::Skipping;
        } else if (inner == QLatin1String("else")) {
            if (branch == Branch::None) {
                r.error = QStringLiteral("else outside if");
                return r;
            }
            branch = branch == Branch::Skipping ? Branch::Taking : Branch::Took;
        } else if (inner == QLatin1String("endif")) {
            if (branch == Branch::None) {
                r.error = QStringLiteral("endif outside if");
                return r;
            }
            branch = Branch::None;
        } else {
            r.error = QStringLiteral("unsupported statement: ") + inner;
            return r;
        }
    }
    if (branch != Branch::None)
        r.error = QStringLiteral("missing endif");
    return r;
}

// ---- what Home Assistant's documentation allows -----------------------------------------------
// The configuration variables of each MQTT platform page (select.mqtt, number.mqtt, sensor.mqtt,
// binary_sensor.mqtt) that we may use, plus those every discovered entity may carry. A key
// outside these is a misspelling (Home Assistant would ignore it silently).

const QSet<QString> &commonKeys()
{
    static const QSet<QString> keys{
        QStringLiteral("availability"),
        QStringLiteral("availability_mode"),
        QStringLiteral("availability_template"),
        QStringLiteral("availability_topic"),
        QStringLiteral("device"),
        QStringLiteral("enabled_by_default"),
        QStringLiteral("encoding"),
        QStringLiteral("entity_category"),
        QStringLiteral("icon"),
        QStringLiteral("json_attributes_template"),
        QStringLiteral("json_attributes_topic"),
        QStringLiteral("name"),
        QStringLiteral("object_id"),
        QStringLiteral("origin"),
        QStringLiteral("payload_available"),
        QStringLiteral("payload_not_available"),
        QStringLiteral("qos"),
        QStringLiteral("unique_id"),
    };
    return keys;
}

QSet<QString> platformKeys(const QString &component)
{
    if (component == QLatin1String("sensor")) {
        return {
            QStringLiteral("state_topic"),         QStringLiteral("value_template"),
            QStringLiteral("state_class"),         QStringLiteral("device_class"),
            QStringLiteral("unit_of_measurement"), QStringLiteral("expire_after"),
            QStringLiteral("force_update"),        QStringLiteral("suggested_display_precision")};
    }
    if (component == QLatin1String("binary_sensor")) {
        return {QStringLiteral("state_topic"),  QStringLiteral("value_template"),
                QStringLiteral("payload_on"),   QStringLiteral("payload_off"),
                QStringLiteral("device_class"), QStringLiteral("expire_after"),
                QStringLiteral("force_update"), QStringLiteral("off_delay")};
    }
    if (component == QLatin1String("select")) {
        return {QStringLiteral("command_topic"),  QStringLiteral("command_template"),
                QStringLiteral("options"),        QStringLiteral("state_topic"),
                QStringLiteral("value_template"), QStringLiteral("optimistic"),
                QStringLiteral("retain")};
    }
    if (component == QLatin1String("number")) {
        return {QStringLiteral("command_topic"),
                QStringLiteral("command_template"),
                QStringLiteral("state_topic"),
                QStringLiteral("value_template"),
                QStringLiteral("min"),
                QStringLiteral("max"),
                QStringLiteral("step"),
                QStringLiteral("mode"),
                QStringLiteral("optimistic"),
                QStringLiteral("retain"),
                QStringLiteral("payload_reset"),
                QStringLiteral("device_class"),
                QStringLiteral("unit_of_measurement")};
    }
    return {};
}

// "required: true" on each platform page.
QStringList requiredKeys(const QString &component)
{
    if (component == QLatin1String("sensor") || component == QLatin1String("binary_sensor"))
        return {QStringLiteral("state_topic")};
    if (component == QLatin1String("select"))
        return {QStringLiteral("command_topic"), QStringLiteral("options")};
    if (component == QLatin1String("number"))
        return {QStringLiteral("command_topic")};
    return {};
}

const QSet<QString> deviceKeys{
    QStringLiteral("configuration_url"), QStringLiteral("connections"),
    QStringLiteral("hw_version"),        QStringLiteral("identifiers"),
    QStringLiteral("manufacturer"),      QStringLiteral("model"),
    QStringLiteral("model_id"),          QStringLiteral("name"),
    QStringLiteral("serial_number"),     QStringLiteral("suggested_area"),
    QStringLiteral("sw_version"),        QStringLiteral("via_device"),
};
const QSet<QString> originKeys{QStringLiteral("name"), QStringLiteral("sw_version"),
                               QStringLiteral("support_url")};

QJsonObject stateJson(bool ledOn, Mode mode, double threshold)
{
    DeviceState s;
    s.ledOn = ledOn;
    s.mode = mode;
    s.threshold = threshold;
    s.light = 412;
    s.ts = 1795527578123;
    return QJsonDocument::fromJson(encodeState(s)).object();
}

QJsonObject configOf(const QList<HaDiscoveryMessage> &configs, const QString &component)
{
    for (const HaDiscoveryMessage &m : configs) {
        if (m.component == component)
            return QJsonDocument::fromJson(m.payload).object();
    }
    return {};
}

// ---- real processes ---------------------------------------------------------------------------

// One running nightlight-device.
class Device : public DeviceProcess
{
public:
    Device() : DeviceProcess(QStringLiteral(NIGHTLIGHT_DEVICE_BIN)) { }
};

class Observer : public RecordingClient
{
public:
    using RecordingClient::RecordingClient;
    std::optional<QJsonObject> lastState(const QString &id) const
    {
        const auto s = on(stateTopic(id));
        if (s.isEmpty())
            return std::nullopt;
        return QJsonDocument::fromJson(s.last().payload).object();
    }
    bool lastStatusIs(const QString &id, const QByteArray &payload) const
    {
        const auto s = on(statusTopic(id));
        return !s.isEmpty() && s.last().payload == payload;
    }
    // Every message received on a config topic under `prefix`.
    QList<MqttMessage> configs(const QString &prefix) const
    {
        QList<MqttMessage> out;
        for (const MqttMessage &m : messages) {
            if (m.topic.startsWith(prefix + u'/') && m.topic.endsWith(QLatin1String("/config")))
                out.append(m);
        }
        return out;
    }
};

QStringList strings(std::initializer_list<const char *> items)
{
    QStringList l;
    for (const char *s : items)
        l << QString::fromUtf8(s);
    return l;
}

} // namespace

class TestHaDiscovery : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    // Without a broker.
    void templateEvaluatorIsStrict();
    void configsFollowTheRules_data();
    void configsFollowTheRules();
    void templatesGiveOurCommands();
    void valueTemplatesReadOurState();
    void nodeIdIsSafeAndStable_data();
    void nodeIdIsSafeAndStable();
    // The real device on the real broker.
    void configsRetainedAfterStart();
    void commandTemplatesChangeTheDevice();
    void birthMessageResendsConfigs();
    void removeLeavesNoRetainedConfigs();
    void unconfirmedRemoveExits4();
    void badOptionsExit2_data();
    void badOptionsExit2();

private:
    QStringList deviceArgs(const QString &id, const QString &prefix,
                           const QStringList &extra = {}) const;
    // The retained configs under `prefix` now: subscribes, then publishes a marker after the
    // subscription (the broker answers in order, so every retained message comes before it).
    QList<MqttMessage> retainedConfigs(const QString &prefix);
    TestBroker m_broker;
};

void TestHaDiscovery::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(NIGHTLIGHT_DEVICE_BIN)), NIGHTLIGHT_DEVICE_BIN);
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

QStringList TestHaDiscovery::deviceArgs(const QString &id, const QString &prefix,
                                        const QStringList &extra) const
{
    return QStringList{QStringLiteral("--host"),
                       m_broker.host(),
                       QStringLiteral("--port"),
                       QString::number(m_broker.port()),
                       QStringLiteral("--id"),
                       id,
                       QStringLiteral("--interval-ms"),
                       QStringLiteral("200"),
                       QStringLiteral("--ha-discovery-prefix"),
                       prefix} +
        extra;
}

QList<MqttMessage> TestHaDiscovery::retainedConfigs(const QString &prefix)
{
    Observer o(m_broker, {prefix + QStringLiteral("/#")});
    if (!QTest::qWaitFor([&] { return o.isConnected(); }, 5000))
        return {};
    const QString marker = prefix + QStringLiteral("/marker");
    o.client().publish(marker, "end", 1, false);
    if (!QTest::qWaitFor([&] { return !o.on(marker).isEmpty(); }, 5000))
        return {};
    QList<MqttMessage> out;
    for (const MqttMessage &m : o.configs(prefix)) {
        if (m.retained)
            out.append(m);
    }
    return out;
}

void TestHaDiscovery::templateEvaluatorIsStrict()
{
    // The evaluator must be able to say no, or the checks built on it prove nothing.
    JinjaContext c{QJsonValue(QStringLiteral("On")), QJsonObject{{QStringLiteral("led_on"), true}}};
    QCOMPARE(render(QStringLiteral("{% if value == 'On' %}a{% else %}b{% endif %}"), c).text,
             QStringLiteral("a"));
    QCOMPARE(render(QStringLiteral("{% if value == 'Off' %}a{% elif value_json.led_on %}b"
                                   "{% else %}c{% endif %}"),
                    c)
                 .text,
             QStringLiteral("b"));
    QCOMPARE(render(QStringLiteral("x{{ value }}y"), c).text, QStringLiteral("xOny"));
    QCOMPARE(render(QStringLiteral("{{ value_json.led_on }}"), c).text, QStringLiteral("True"));
    QVERIFY(!render(QStringLiteral("{{ value | upper }}"), c).error.isEmpty());
    QVERIFY(!render(QStringLiteral("{{ value_json.missing }}"), c).error.isEmpty());
    QVERIFY(!render(QStringLiteral("{% if value %}a"), c).error.isEmpty());
    QVERIFY(!render(QStringLiteral("{% for x in y %}{% endfor %}"), c).error.isEmpty());
    QVERIFY(!render(QStringLiteral("{% if value %}{% if value %}{% endif %}{% endif %}"), c)
                 .error.isEmpty());
}

void TestHaDiscovery::configsFollowTheRules_data()
{
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("prefix");
    QTest::newRow("default id, default prefix")
        << QStringLiteral("nightlight") << QStringLiteral("homeassistant");
    QTest::newRow("id with a dot") << QStringLiteral("porch.light") << QStringLiteral("ha");
    QTest::newRow("prefix with levels") << QStringLiteral("a_b-C9") << QStringLiteral("site/ha");
}

void TestHaDiscovery::configsFollowTheRules()
{
    QFETCH(QString, id);
    QFETCH(QString, prefix);
    const QString version = QStringLiteral(NIGHTLIGHT_VERSION);
    const QList<HaDiscoveryMessage> configs = HaDiscovery::configs(id, prefix, version);
    QCOMPARE(configs.size(), 4);
    const QString node = HaDiscovery::nodeId(id);
    static const QRegularExpression safe(QStringLiteral("^[a-zA-Z0-9_-]+$"));
    QVERIFY2(safe.match(node).hasMatch(), qPrintable(node));

    QStringList components;
    QSet<QString> uniqueIds;
    std::optional<QJsonObject> device;
    for (const HaDiscoveryMessage &m : configs) {
        components << m.component;
        // <discovery_prefix>/<component>/[<node_id>/]<object_id>/config
        QVERIFY2(safe.match(m.objectId).hasMatch(), qPrintable(m.objectId));
        QCOMPARE(m.topic,
                 QStringLiteral("%1/%2/%3/%4/config").arg(prefix, m.component, node, m.objectId));

        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(m.payload, &error);
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        QVERIFY(doc.isObject()); // "The payload must be a serialized JSON dictionary"
        const QJsonObject config = doc.object();
        QCOMPARE(m.payload, doc.toJson(QJsonDocument::Compact));

        // Every key documented for this platform (no misspelling HA would silently ignore),
        // every required one present.
        const QSet<QString> allowed = commonKeys() + platformKeys(m.component);
        for (const QString &key : config.keys())
            QVERIFY2(allowed.contains(key), qPrintable(m.component + QLatin1Char(' ') + key));
        for (const QString &key : requiredKeys(m.component))
            QVERIFY2(config.contains(key), qPrintable(m.component + QLatin1Char(' ') + key));
        QVERIFY(config.value(QStringLiteral("name")).isString());

        // Availability from <id>/status; "Must not be used together with `availability`".
        QCOMPARE(config.value(QStringLiteral("availability_topic")).toString(), statusTopic(id));
        QVERIFY(!config.contains(QStringLiteral("availability")));
        QCOMPARE(config.value(QStringLiteral("payload_available")).toString(),
                 QStringLiteral("online"));
        QCOMPARE(config.value(QStringLiteral("payload_not_available")).toString(),
                 QStringLiteral("offline"));
        QCOMPARE(encodeAvailability(Availability::Online), QByteArray("online"));
        QCOMPARE(encodeAvailability(Availability::Offline), QByteArray("offline"));

        // unique_id: present (the device block "Only works ... when unique_id is set"),
        // unique among the configs.
        const QString uniqueId = config.value(QStringLiteral("unique_id")).toString();
        QVERIFY(!uniqueId.isEmpty());
        QVERIFY2(!uniqueIds.contains(uniqueId), qPrintable(uniqueId));
        uniqueIds.insert(uniqueId);

        // One device block, identical in every config; "At least one of identifiers or
        // connections must be present".
        const QJsonObject d = config.value(QStringLiteral("device")).toObject();
        for (const QString &key : d.keys())
            QVERIFY2(deviceKeys.contains(key), qPrintable(QStringLiteral("device ") + key));
        QVERIFY(!d.value(QStringLiteral("identifiers")).toArray().isEmpty());
        QCOMPARE(d.value(QStringLiteral("name")).toString(), id);
        QCOMPARE(d.value(QStringLiteral("model")).toString(), QStringLiteral("nightlight-device"));
        QCOMPARE(d.value(QStringLiteral("sw_version")).toString(), version);
        QVERIFY(!d.value(QStringLiteral("manufacturer")).toString().isEmpty());
        if (device)
            QCOMPARE(d, *device);
        device = d;

        // origin: "name ... (Required)".
        const QJsonObject origin = config.value(QStringLiteral("origin")).toObject();
        QVERIFY(!origin.value(QStringLiteral("name")).toString().isEmpty());
        for (const QString &key : origin.keys())
            QVERIFY2(originKeys.contains(key), qPrintable(QStringLiteral("origin ") + key));

        if (config.contains(QStringLiteral("qos"))) {
            const int qos = config.value(QStringLiteral("qos")).toInt(-1);
            QVERIFY(qos == 0 || qos == 1);
        }
    }
    QCOMPARE(components, strings({"sensor", "binary_sensor", "select", "number"}));

    // The topics exactly as PROTOCOL.md names them.
    const QJsonObject sensor = configOf(configs, QStringLiteral("sensor"));
    QCOMPARE(sensor.value(QStringLiteral("state_topic")).toString(), telemetryTopic(id));
    QCOMPARE(sensor.value(QStringLiteral("value_template")).toString(),
             QStringLiteral("{{ value_json.light }}"));
    QCOMPARE(sensor.value(QStringLiteral("state_class")).toString(), QStringLiteral("measurement"));
    const QJsonObject led = configOf(configs, QStringLiteral("binary_sensor"));
    QCOMPARE(led.value(QStringLiteral("state_topic")).toString(), stateTopic(id));
    const QJsonObject mode = configOf(configs, QStringLiteral("select"));
    QCOMPARE(mode.value(QStringLiteral("command_topic")).toString(), commandsTopic(id));
    QCOMPARE(mode.value(QStringLiteral("state_topic")).toString(), stateTopic(id));
    QCOMPARE(mode.value(QStringLiteral("options")).toArray(),
             (QJsonArray{QStringLiteral("Auto"), QStringLiteral("On"), QStringLiteral("Off")}));
    // Commands are QoS 1 and never retained (PROTOCOL.md).
    QCOMPARE(mode.value(QStringLiteral("qos")).toInt(), 1);
    QCOMPARE(mode.value(QStringLiteral("retain")).toBool(true), false);
    const QJsonObject threshold = configOf(configs, QStringLiteral("number"));
    QCOMPARE(threshold.value(QStringLiteral("command_topic")).toString(), commandsTopic(id));
    QCOMPARE(threshold.value(QStringLiteral("state_topic")).toString(), stateTopic(id));
    QCOMPARE(threshold.value(QStringLiteral("min")).toDouble(), 0.0);
    QCOMPARE(threshold.value(QStringLiteral("max")).toDouble(), 1023.0);
    // "step: Step value. Smallest value 0.001."
    QVERIFY(threshold.value(QStringLiteral("step")).toDouble() >= 0.001);
    QCOMPARE(threshold.value(QStringLiteral("qos")).toInt(), 1);
    QCOMPARE(threshold.value(QStringLiteral("retain")).toBool(true), false);

    // Stable: the same id gives the same configs; another id other unique_ids and identifiers.
    QCOMPARE(HaDiscovery::configs(id, prefix, version).first().payload, configs.first().payload);
    for (const HaDiscoveryMessage &m :
         HaDiscovery::configs(id + QStringLiteral("2"), prefix, version)) {
        const QJsonObject other = QJsonDocument::fromJson(m.payload).object();
        QVERIFY(!uniqueIds.contains(other.value(QStringLiteral("unique_id")).toString()));
        QVERIFY(other.value(QStringLiteral("device")).toObject() != *device);
    }

    // The removals name exactly the same topics, with empty payloads.
    const QList<HaDiscoveryMessage> removals = HaDiscovery::removals(id, prefix);
    QCOMPARE(removals.size(), configs.size());
    for (int i = 0; i < removals.size(); ++i) {
        QCOMPARE(removals[i].topic, configs[i].topic);
        QVERIFY(removals[i].payload.isEmpty());
    }
}

void TestHaDiscovery::templatesGiveOurCommands()
{
    const auto configs = HaDiscovery::configs(QStringLiteral("n"), QStringLiteral("ha"),
                                              QStringLiteral(NIGHTLIGHT_VERSION));
    const QJsonObject mode = configOf(configs, QStringLiteral("select"));
    const QString selectTemplate = mode.value(QStringLiteral("command_template")).toString();
    const struct
    {
        const char *option;
        Command expected;
    } rows[] = {
        {"Auto", Command{{}, Mode::Auto, {}}},
        {"On", Command{true, {}, {}}},
        {"Off", Command{false, {}, {}}},
    };
    for (const auto &row : rows) {
        const Rendered r =
            render(selectTemplate, JinjaContext{QJsonValue(QLatin1String(row.option)), {}});
        QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
        const auto command = decodeCommand(r.text.toUtf8());
        QVERIFY2(command, qPrintable(r.text + QStringLiteral(": ") + command.errorString()));
        QCOMPARE(*command, row.expected);
    }
    // An option we do not offer gives no command at all (the device rejects an empty payload).
    const Rendered unknown =
        render(selectTemplate, JinjaContext{QJsonValue(QStringLiteral("Dim")), {}});
    QVERIFY(unknown.error.isEmpty());
    QVERIFY(!decodeCommand(unknown.text.toUtf8()));

    const QJsonObject threshold = configOf(configs, QStringLiteral("number"));
    const QString numberTemplate = threshold.value(QStringLiteral("command_template")).toString();
    for (const double value : {0.0, 300.0, 512.5, 1023.0}) {
        const Rendered r = render(numberTemplate, JinjaContext{QJsonValue(value), {}});
        QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
        const auto command = decodeCommand(r.text.toUtf8());
        QVERIFY2(command, qPrintable(r.text));
        QCOMPARE(*command, (Command{{}, {}, value}));
    }
}

void TestHaDiscovery::valueTemplatesReadOurState()
{
    const auto configs = HaDiscovery::configs(QStringLiteral("n"), QStringLiteral("ha"),
                                              QStringLiteral(NIGHTLIGHT_VERSION));
    const auto valueTemplate = [&](const char *component) {
        return configOf(configs, QLatin1String(component))
            .value(QStringLiteral("value_template"))
            .toString();
    };
    const auto eval = [](const QString &tpl, const QJsonObject &json) {
        const Rendered r = render(tpl, JinjaContext{QJsonValue(), json});
        return r.error.isEmpty() ? r.text : QStringLiteral("error: ") + r.error;
    };
    const QJsonObject led = configOf(configs, QStringLiteral("binary_sensor"));
    // "a string to be compared to payload_on/payload_off".
    QCOMPARE(eval(valueTemplate("binary_sensor"), stateJson(true, Mode::Manual, 300)),
             led.value(QStringLiteral("payload_on")).toString());
    QCOMPARE(eval(valueTemplate("binary_sensor"), stateJson(false, Mode::Auto, 300)),
             led.value(QStringLiteral("payload_off")).toString());
    // The select's value must be one of its options.
    QCOMPARE(eval(valueTemplate("select"), stateJson(true, Mode::Auto, 300)),
             QStringLiteral("Auto"));
    QCOMPARE(eval(valueTemplate("select"), stateJson(false, Mode::Auto, 300)),
             QStringLiteral("Auto"));
    QCOMPARE(eval(valueTemplate("select"), stateJson(true, Mode::Manual, 300)),
             QStringLiteral("On"));
    QCOMPARE(eval(valueTemplate("select"), stateJson(false, Mode::Manual, 300)),
             QStringLiteral("Off"));
    QCOMPARE(eval(valueTemplate("number"), stateJson(false, Mode::Auto, 250)),
             QStringLiteral("250"));
    Telemetry t{412, 1795527578123};
    QCOMPARE(eval(valueTemplate("sensor"), QJsonDocument::fromJson(encodeTelemetry(t)).object()),
             QStringLiteral("412"));
}

void TestHaDiscovery::nodeIdIsSafeAndStable_data()
{
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("expected"); // empty: only checked to be safe and distinct
    QTest::newRow("plain") << QStringLiteral("nightlight") << QStringLiteral("nightlight");
    QTest::newRow("underscore and hyphen") << QStringLiteral("a_b-1") << QStringLiteral("a_b-1");
    QTest::newRow("dot") << QStringLiteral("a.b") << QString();
    QTest::newRow("dots only") << QStringLiteral("...") << QString();
}

void TestHaDiscovery::nodeIdIsSafeAndStable()
{
    QFETCH(QString, id);
    QFETCH(QString, expected);
    const QString node = HaDiscovery::nodeId(id);
    QVERIFY(QRegularExpression(QStringLiteral("^[a-zA-Z0-9_-]+$")).match(node).hasMatch());
    QCOMPARE(HaDiscovery::nodeId(id), node);
    if (!expected.isEmpty())
        QCOMPARE(node, expected);
    // "a.b" must not become the node of the valid id "a_b".
    QString plain = id;
    plain.replace(u'.', u'_');
    if (plain != id)
        QVERIFY(HaDiscovery::nodeId(plain) != node);
}

void TestHaDiscovery::configsRetainedAfterStart()
{
    const QString id = QStringLiteral("ha-retained");
    const QString prefix = QStringLiteral("ha-retained-prefix");
    Observer observer(m_broker, {id + QStringLiteral("/#")});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    QVERIFY(retainedConfigs(prefix).isEmpty());
    Device device;
    QVERIFY(device.start(deviceArgs(id, prefix, {QStringLiteral("--ha-discovery")})));
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastStatusIs(id, "online"), 5000);
    // The state follows the configs on connect: once it is here, so are they.
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id).has_value(), 5000);

    const QList<HaDiscoveryMessage> expected =
        HaDiscovery::configs(id, prefix, QStringLiteral(NIGHTLIGHT_VERSION));
    QList<MqttMessage> retained;
    QTRY_COMPARE_WITH_TIMEOUT((retained = retainedConfigs(prefix)).size(), expected.size(), 5000);
    for (const HaDiscoveryMessage &e : expected) {
        const auto it = std::find_if(retained.cbegin(), retained.cend(),
                                     [&](const MqttMessage &m) { return m.topic == e.topic; });
        QVERIFY2(it != retained.cend(), qPrintable(e.topic));
        QCOMPARE(it->payload, e.payload);
        QVERIFY(it->retained);
        QCOMPARE(it->qos, 1); // published at QoS 1 (we subscribed at 1: the minimum of both)
    }

    // Without --ha-discovery nothing is published under the prefix.
    const QString quietId = QStringLiteral("ha-off");
    Observer quiet(m_broker, {quietId + QStringLiteral("/#")});
    QTRY_VERIFY_WITH_TIMEOUT(quiet.isConnected(), 5000);
    Device plain;
    QVERIFY(plain.start(deviceArgs(quietId, QStringLiteral("ha-off-prefix"))));
    QTRY_VERIFY_WITH_TIMEOUT(quiet.lastState(quietId).has_value(), 5000);
    QVERIFY(retainedConfigs(QStringLiteral("ha-off-prefix")).isEmpty());
}

void TestHaDiscovery::commandTemplatesChangeTheDevice()
{
    const QString id = QStringLiteral("ha-commands");
    const QString prefix = QStringLiteral("ha-commands-prefix");
    Observer observer(m_broker, {id + QStringLiteral("/#")});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    // Threshold 0: in auto mode the LED stays off, so "Auto" after "On" is visible.
    QVERIFY(device.start(deviceArgs(
        id, prefix,
        {QStringLiteral("--ha-discovery"), QStringLiteral("--threshold"), QStringLiteral("0")})));
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id).has_value(), 5000);

    // The templates as the device published them, read back from the broker.
    QList<MqttMessage> retained;
    QTRY_COMPARE_WITH_TIMEOUT((retained = retainedConfigs(prefix)).size(), 4, 5000);
    QJsonObject select;
    QJsonObject number;
    for (const MqttMessage &m : retained) {
        if (m.topic.startsWith(prefix + QStringLiteral("/select/")))
            select = QJsonDocument::fromJson(m.payload).object();
        if (m.topic.startsWith(prefix + QStringLiteral("/number/")))
            number = QJsonDocument::fromJson(m.payload).object();
    }
    QVERIFY(!select.isEmpty() && !number.isEmpty());

    // What Home Assistant does when the user picks an option: render command_template with
    // `value`, publish to command_topic at the config's qos; then read the state back through
    // value_template.
    const auto selectOption = [&](const QString &option) {
        const Rendered r = render(select.value(QStringLiteral("command_template")).toString(),
                                  JinjaContext{QJsonValue(option), {}});
        QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
        const qsizetype before = observer.on(stateTopic(id)).size();
        observer.client().publish(select.value(QStringLiteral("command_topic")).toString(),
                                  r.text.toUtf8(), select.value(QStringLiteral("qos")).toInt(),
                                  select.value(QStringLiteral("retain")).toBool());
        // A state published after the command, read as Home Assistant would.
        QTRY_VERIFY_WITH_TIMEOUT(
            observer.on(stateTopic(id)).size() > before &&
                render(select.value(QStringLiteral("value_template")).toString(),
                       JinjaContext{QJsonValue(), *observer.lastState(id)})
                        .text == option,
            5000);
    };

    selectOption(QStringLiteral("On"));
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(observer.lastState(id)->value(QStringLiteral("led_on")).toBool(), true);
    QCOMPARE(observer.lastState(id)->value(QStringLiteral("mode")).toString(),
             QStringLiteral("manual"));
    selectOption(QStringLiteral("Off"));
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(observer.lastState(id)->value(QStringLiteral("led_on")).toBool(), false);
    selectOption(QStringLiteral("On"));
    selectOption(QStringLiteral("Auto"));
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(observer.lastState(id)->value(QStringLiteral("mode")).toString(),
             QStringLiteral("auto"));
    QCOMPARE(observer.lastState(id)->value(QStringLiteral("led_on")).toBool(), false);

    // The number: 1023 puts every reading below the threshold, so auto mode switches on.
    const Rendered r = render(number.value(QStringLiteral("command_template")).toString(),
                              JinjaContext{QJsonValue(1023), {}});
    QVERIFY2(r.error.isEmpty(), qPrintable(r.error));
    observer.client().publish(number.value(QStringLiteral("command_topic")).toString(),
                              r.text.toUtf8(), number.value(QStringLiteral("qos")).toInt(),
                              number.value(QStringLiteral("retain")).toBool());
    QTRY_COMPARE_WITH_TIMEOUT(render(number.value(QStringLiteral("value_template")).toString(),
                                     JinjaContext{QJsonValue(), *observer.lastState(id)})
                                  .text,
                              QStringLiteral("1023"), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id)->value(QStringLiteral("led_on")).toBool(),
                             5000);

    // And the state is retained: a late subscriber (Home Assistant after a restart) sees it.
    Observer late(m_broker, {stateTopic(id)});
    QTRY_VERIFY_WITH_TIMEOUT(!late.messages.isEmpty(), 5000);
    QVERIFY(late.messages.first().retained);
    QCOMPARE(QJsonDocument::fromJson(late.messages.first().payload)
                 .object()
                 .value(QStringLiteral("threshold"))
                 .toDouble(),
             1023.0);
}

void TestHaDiscovery::birthMessageResendsConfigs()
{
    const QString id = QStringLiteral("ha-birth");
    const QString prefix = QStringLiteral("ha-birth-prefix");
    const QString haStatus = HaDiscovery::statusTopic(prefix);
    QCOMPARE(haStatus, prefix + QStringLiteral("/status"));
    Observer observer(m_broker, {id + QStringLiteral("/#"), prefix + QStringLiteral("/#")});
    QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
    Device device;
    QVERIFY(device.start(deviceArgs(id, prefix, {QStringLiteral("--ha-discovery")})));
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastStatusIs(id, "online"), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id).has_value(), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(observer.configs(prefix).size(), 4, 5000); // the ones on connect

    // Anything but "online" there changes nothing and harms nothing: Home Assistant's will,
    // empty, case, binary, the contract's 64 KiB limit, and one byte over it.
    QByteArray binary(1024, '\0');
    for (int i = 0; i < binary.size(); ++i)
        binary[i] = char(i * 37);
    const QList<QByteArray> others = {
        "offline",
        "",
        "ONLINE",
        "online\n",
        " online",
        binary,
        QByteArray(64 * 1024, '\xff'),
        QByteArray(64 * 1024 + 1, 'o'),
    };
    for (const QByteArray &payload : others)
        observer.client().publish(haStatus, payload, 1, false);
    // A command after them: its confirmation means the device has handled all of them (one
    // publisher's messages arrive in order, and the device publishes in order).
    observer.client().publish(commandsTopic(id), "{\"threshold\": 111}", 1, false);
    QTRY_VERIFY_WITH_TIMEOUT(
        observer.lastState(id)->value(QStringLiteral("threshold")).toDouble() == 111.0, 5000);
    QCOMPARE(observer.configs(prefix).size(), 4);
    QCOMPARE(device.process().state(), QProcess::Running);

    // Home Assistant's birth message: all four again, then the state ("After the configs have
    // been published, the state topics will need an update").
    const qsizetype statesBefore = observer.on(stateTopic(id)).size();
    observer.client().publish(haStatus, "online", 1, false);
    QTRY_COMPARE_WITH_TIMEOUT(observer.configs(prefix).size(), 8, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(observer.on(stateTopic(id)).size() > statesBefore, 5000);
    const QList<HaDiscoveryMessage> expected =
        HaDiscovery::configs(id, prefix, QStringLiteral(NIGHTLIGHT_VERSION));
    const QList<MqttMessage> again = observer.configs(prefix).mid(4);
    for (int i = 0; i < expected.size(); ++i) {
        QCOMPARE(again[i].topic, expected[i].topic);
        QCOMPARE(again[i].payload, expected[i].payload);
    }
    QCOMPARE(device.process().state(), QProcess::Running);
    QVERIFY2(device.log().contains(QLatin1String("Home Assistant is online")),
             qPrintable(device.log()));
}

// A broker that never answers (the SYNs are dropped): the removal cannot be confirmed, and the
// run says so and exits 4 after its 20 s, instead of hanging or claiming success.
void TestHaDiscovery::unconfirmedRemoveExits4()
{
    BlackHole hole;
    QVERIFY(hole.open());
    Device remover;
    QVERIFY(remover.start({QStringLiteral("--host"), QStringLiteral("127.0.0.1"),
                           QStringLiteral("--port"), QString::number(hole.port()),
                           QStringLiteral("--id"), QStringLiteral("ha-unconfirmed"),
                           QStringLiteral("--ha-discovery-remove")}));
    QVERIFY(remover.process().waitForFinished(40000));
    QCOMPARE(remover.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(remover.process().exitCode(), 4);
    QVERIFY2(remover.log().contains(QStringLiteral("did not confirm the removal of 4 of 4 Home "
                                                   "Assistant configs within 20 s")),
             qPrintable(remover.log()));
}

void TestHaDiscovery::removeLeavesNoRetainedConfigs()
{
    const QString id = QStringLiteral("ha-remove");
    const QString prefix = QStringLiteral("ha-remove-prefix");
    {
        Observer observer(m_broker, {id + QStringLiteral("/#")});
        QTRY_VERIFY_WITH_TIMEOUT(observer.isConnected(), 5000);
        Device device;
        QVERIFY(device.start(deviceArgs(id, prefix, {QStringLiteral("--ha-discovery")})));
        QTRY_VERIFY_WITH_TIMEOUT(observer.lastState(id).has_value(), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(retainedConfigs(prefix).size(), 4, 5000);
        device.process().terminate();
        QVERIFY(device.process().waitForFinished(5000));
        QCOMPARE(device.process().exitCode(), 0);
    }
    // Another device's configs under the same prefix stay.
    const QString otherId = QStringLiteral("ha-remove-other");
    const QList<HaDiscoveryMessage> other =
        HaDiscovery::configs(otherId, prefix, QStringLiteral(NIGHTLIGHT_VERSION));
    for (const HaDiscoveryMessage &m : other) {
        QVERIFY(mosquittoPub(m_broker,
                             {QStringLiteral("-q"), QStringLiteral("1"), QStringLiteral("-r"),
                              QStringLiteral("-t"), m.topic, QStringLiteral("-m"),
                              QString::fromUtf8(m.payload)}));
    }
    QCOMPARE(retainedConfigs(prefix).size(), 8);

    Device remover;
    QVERIFY(remover.start(deviceArgs(id, prefix, {QStringLiteral("--ha-discovery-remove")})));
    QVERIFY(remover.process().waitForFinished(10000));
    QCOMPARE(remover.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(remover.process().exitCode(), 0);
    // Exit 0 means the broker has processed every removal: nothing to wait for.
    const QList<MqttMessage> left = retainedConfigs(prefix);
    QCOMPARE(left.size(), other.size());
    for (const MqttMessage &m : left)
        QVERIFY2(m.topic.contains(HaDiscovery::nodeId(otherId)), qPrintable(m.topic));

    // Removing what is not there is fine too.
    Device again;
    QVERIFY(again.start(deviceArgs(id, prefix, {QStringLiteral("--ha-discovery-remove")})));
    QVERIFY(again.process().waitForFinished(10000));
    QCOMPARE(again.process().exitCode(), 0);
}

void TestHaDiscovery::badOptionsExit2_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty prefix") << strings({"--ha-discovery", "--ha-discovery-prefix", ""})
                                  << QStringLiteral(
                                         "invalid --ha-discovery-prefix \"\": must not be empty");
    QTest::newRow("prefix with +")
        << strings({"--ha-discovery", "--ha-discovery-prefix", "a+b"})
        << QStringLiteral("invalid --ha-discovery-prefix \"a+b\": must not contain the MQTT "
                          "wildcards + or #");
    QTest::newRow("prefix with #")
        << strings({"--ha-discovery-prefix", "ha/#"})
        << QStringLiteral("invalid --ha-discovery-prefix \"ha/#\": must not contain");
    QTest::newRow("leading /") << strings({"--ha-discovery-prefix", "/ha"})
                               << QStringLiteral("invalid --ha-discovery-prefix \"/ha\": must "
                                                 "not start or end with /");
    QTest::newRow("trailing / with remove")
        << strings({"--ha-discovery-remove", "--ha-discovery-prefix", "ha/"})
        << QStringLiteral("invalid --ha-discovery-prefix \"ha/\": must not start or end with /");
    QTest::newRow("flag with a value")
        << strings({"--ha-discovery=yes"}) << QStringLiteral("Unexpected value after");
}

void TestHaDiscovery::badOptionsExit2()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QProcess p;
    dieWithTest(p);
    p.start(QStringLiteral(NIGHTLIGHT_DEVICE_BIN),
            args + strings({"--port", "1"})); // never reached: nothing must connect
    QVERIFY(p.waitForFinished(5000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 2);
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(err.startsWith(QLatin1String("nightlight-device: ")), qPrintable(err));
    QVERIFY2(err.contains(message), qPrintable(err));
}

QTEST_GUILESS_MAIN(TestHaDiscovery)
#include "tst_hadiscovery.moc"
