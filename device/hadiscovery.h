#pragma once

// Home Assistant MQTT discovery (issue #12): the retained config messages that make a
// nightlight-device show up in Home Assistant as one device with four entities, built from the
// device id alone. Pure functions, no MQTT: main.cpp publishes what they return, tests check it.
//
// Rules followed (quoted with their addresses in docs/device.md "Home Assistant"): the topic is
// <prefix>/<component>/<node_id>/<object_id>/config, node_id and object_id only of
// [a-zA-Z0-9_-]; an empty retained payload on that topic removes the entity; Home Assistant's
// birth message ("online" on <prefix>/status) asks for the configs again.

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace nightlight {

struct HaDiscoveryMessage
{
    QString component; // "sensor", "binary_sensor", "select", "number"
    QString objectId; // "light", "led", "mode", "threshold"
    QString topic; // <prefix>/<component>/<node_id>/<object_id>/config
    QByteArray payload; // compact JSON object; empty for a removal
};

namespace HaDiscovery {

inline constexpr const char *DefaultPrefix = "homeassistant";

// The select's options, in the order Home Assistant shows them.
inline constexpr const char *OptionAuto = "Auto";
inline constexpr const char *OptionOn = "On";
inline constexpr const char *OptionOff = "Off";

// The threshold number's range and step.
inline constexpr int ThresholdMin = 0;
inline constexpr int ThresholdMax = 1023; // CounterFit's full scale; Grove's is 0..1000
inline constexpr int ThresholdStep = 1;

// Why `prefix` cannot be a discovery prefix ("must not be empty", ...), or nullopt if it can.
std::optional<QString> prefixError(const QString &prefix);

// The device id made safe for a topic level as Home Assistant requires ([a-zA-Z0-9_-]). An id
// made only of those characters is kept as it is; otherwise each other character ('.', the only
// one a device id may also hold) becomes '_' and "_" plus 8 hex digits of the id's SHA-1 are
// appended, so that "a.b" and "a_b" stay apart. Stable: the same id always gives the same node id.
QString nodeId(const QString &deviceId);

// "<prefix>/status": where Home Assistant publishes its birth ("online") and will ("offline").
QString statusTopic(const QString &prefix);

// The four configs, in the order sensor, binary_sensor, select, number. `swVersion` goes into
// the device block and the origin.
QList<HaDiscoveryMessage> configs(const QString &deviceId, const QString &prefix,
                                  const QString &swVersion);

// The same topics with empty payloads: published retained, they remove the entities.
QList<HaDiscoveryMessage> removals(const QString &deviceId, const QString &prefix);

} // namespace HaDiscovery

} // namespace nightlight
