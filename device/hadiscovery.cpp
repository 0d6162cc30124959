#include "hadiscovery.h"

#include "protocol.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace nightlight {

namespace HaDiscovery {

namespace {

bool isTopicSafe(QChar c)
{
    // https://www.home-assistant.io/integrations/mqtt/#discovery-topic: node_id and object_id
    // "must only consist of characters from the character class [a-zA-Z0-9_-]".
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9') ||
        c == u'_' || c == u'-';
}

// What every config carries: the entity's own part is added by the caller.
QJsonObject common(const QString &deviceId, const QString &node, const QString &objectId,
                   const QString &name, const QString &swVersion)
{
    // One device block, identical in every config: Home Assistant groups the entities by its
    // identifiers ("At least one of identifiers or connections must be present").
    const QJsonObject device{
        {QStringLiteral("identifiers"), QJsonArray{QString(QStringLiteral("nightlight_") + node)}},
        {QStringLiteral("name"), deviceId},
        {QStringLiteral("manufacturer"), QStringLiteral("Nightlight")},
        {QStringLiteral("model"), QStringLiteral("nightlight-device")},
        {QStringLiteral("sw_version"), swVersion},
    };
    // "It is recommended to add information about the origin of MQTT entities by including the
    // origin option": name is required there.
    const QJsonObject origin{
        {QStringLiteral("name"), QStringLiteral("nightlight-device")},
        {QStringLiteral("sw_version"), swVersion},
    };
    return QJsonObject{
        {QStringLiteral("name"), name},
        {QStringLiteral("unique_id"), QStringLiteral("nightlight_%1_%2").arg(node, objectId)},
        {QStringLiteral("device"), device},
        {QStringLiteral("origin"), origin},
        // <id>/status is retained, "offline" being our Last Will (PROTOCOL.md).
        {QStringLiteral("availability_topic"), nightlight::statusTopic(deviceId)},
        {QStringLiteral("payload_available"), QStringLiteral("online")},
        {QStringLiteral("payload_not_available"), QStringLiteral("offline")},
    };
}

QJsonObject merged(QJsonObject base, const QJsonObject &own)
{
    for (auto it = own.constBegin(); it != own.constEnd(); ++it)
        base.insert(it.key(), it.value());
    return base;
}

QString configTopic(const QString &prefix, const QString &component, const QString &node,
                    const QString &objectId)
{
    return QStringLiteral("%1/%2/%3/%4/config").arg(prefix, component, node, objectId);
}

struct Entity
{
    const char *component;
    const char *objectId;
};

// The order of configs() and removals().
constexpr Entity entities[] = {
    {"sensor", "light"},
    {"binary_sensor", "led"},
    {"select", "mode"},
    {"number", "threshold"},
};

} // namespace

std::optional<QString> prefixError(const QString &prefix)
{
    if (prefix.isEmpty())
        return QStringLiteral("must not be empty");
    if (prefix.contains(u'+') || prefix.contains(u'#'))
        return QStringLiteral("must not contain the MQTT wildcards + or #");
    if (prefix.startsWith(u'/') || prefix.endsWith(u'/'))
        return QStringLiteral("must not start or end with /");
    if (prefix.contains(QChar(0)))
        return QStringLiteral("must not contain a NUL character");
    return std::nullopt;
}

QString nodeId(const QString &deviceId)
{
    QString node;
    node.reserve(deviceId.size() + 9);
    bool changed = false;
    for (const QChar c : deviceId) {
        if (isTopicSafe(c)) {
            node.append(c);
        } else {
            node.append(u'_');
            changed = true;
        }
    }
    if (changed) {
        const QByteArray hash =
            QCryptographicHash::hash(deviceId.toUtf8(), QCryptographicHash::Sha1).toHex();
        node += u'_' + QString::fromLatin1(hash.left(8));
    }
    return node;
}

QString statusTopic(const QString &prefix)
{
    return prefix + QStringLiteral("/status");
}

QList<HaDiscoveryMessage> configs(const QString &deviceId, const QString &prefix,
                                  const QString &swVersion)
{
    const QString node = nodeId(deviceId);
    const QString auto_ = QLatin1String(OptionAuto);
    const QString on = QLatin1String(OptionOn);
    const QString off = QLatin1String(OptionOff);

    // The templates stay within one small piece of Jinja (plain text, {{ value }},
    // {{ value_json.key }}, {% if %} / {% elif %} / {% else %} / {% endif %} on "x == 'literal'"
    // or "x"), so that tests/tst_hadiscovery.cpp can evaluate them exactly.
    const QJsonObject own[] = {
        // The reading, as the lesson's telemetry carries it: no unit (per-mille of the supply
        // on Grove, 0..1023 on CounterFit), hence no device_class (illuminance would need lx).
        QJsonObject{
            {QStringLiteral("state_topic"), telemetryTopic(deviceId)},
            {QStringLiteral("value_template"), QStringLiteral("{{ value_json.light }}")},
            {QStringLiteral("state_class"), QStringLiteral("measurement")},
        },
        QJsonObject{
            {QStringLiteral("state_topic"), stateTopic(deviceId)},
            {QStringLiteral("value_template"),
             QStringLiteral("{% if value_json.led_on %}ON{% else %}OFF{% endif %}")},
            {QStringLiteral("payload_on"), QStringLiteral("ON")},
            {QStringLiteral("payload_off"), QStringLiteral("OFF")},
            {QStringLiteral("qos"), 1},
        },
        QJsonObject{
            {QStringLiteral("command_topic"), commandsTopic(deviceId)},
            // No {% else %}: an option we do not know sends an empty payload, which the device
            // rejects and counts, instead of switching the LED.
            {QStringLiteral("command_template"),
             QString(QStringLiteral("{% if value == '") + auto_ +
                     QStringLiteral("' %}{\"mode\": \"auto\"}{% elif value == '") + on +
                     QStringLiteral("' %}{\"led_on\": true}{% elif value == '") + off +
                     QStringLiteral("' %}{\"led_on\": false}{% endif %}"))},
            {QStringLiteral("options"), QJsonArray{auto_, on, off}},
            {QStringLiteral("state_topic"), stateTopic(deviceId)},
            {QStringLiteral("value_template"),
             QString(QStringLiteral("{% if value_json.mode == 'auto' %}") + auto_ +
                     QStringLiteral("{% elif value_json.led_on %}") + on +
                     QStringLiteral("{% else %}") + off + QStringLiteral("{% endif %}"))},
            {QStringLiteral("qos"), 1}, // commands are QoS 1, not retained (PROTOCOL.md)
            {QStringLiteral("retain"), false},
        },
        QJsonObject{
            {QStringLiteral("command_topic"), commandsTopic(deviceId)},
            {QStringLiteral("command_template"), QStringLiteral("{\"threshold\": {{ value }}}")},
            {QStringLiteral("state_topic"), stateTopic(deviceId)},
            {QStringLiteral("value_template"), QStringLiteral("{{ value_json.threshold }}")},
            {QStringLiteral("min"), ThresholdMin},
            {QStringLiteral("max"), ThresholdMax},
            {QStringLiteral("step"), ThresholdStep},
            {QStringLiteral("entity_category"), QStringLiteral("config")},
            {QStringLiteral("qos"), 1},
            {QStringLiteral("retain"), false},
        },
    };
    const char *names[] = {"Light level", "LED", "Mode", "Threshold"};

    QList<HaDiscoveryMessage> out;
    for (int i = 0; i < int(std::size(entities)); ++i) {
        const QString component = QLatin1String(entities[i].component);
        const QString objectId = QLatin1String(entities[i].objectId);
        const QJsonObject config =
            merged(common(deviceId, node, objectId, QLatin1String(names[i]), swVersion), own[i]);
        out.append(HaDiscoveryMessage{component, objectId,
                                      configTopic(prefix, component, node, objectId),
                                      QJsonDocument(config).toJson(QJsonDocument::Compact)});
    }
    return out;
}

QList<HaDiscoveryMessage> removals(const QString &deviceId, const QString &prefix)
{
    const QString node = nodeId(deviceId);
    QList<HaDiscoveryMessage> out;
    for (const Entity &e : entities) {
        const QString component = QLatin1String(e.component);
        const QString objectId = QLatin1String(e.objectId);
        out.append(HaDiscoveryMessage{
            component, objectId, configTopic(prefix, component, node, objectId), {}});
    }
    return out;
}

} // namespace HaDiscovery

} // namespace nightlight
