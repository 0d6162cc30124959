#include "deviceoptions.h"

#include "hadiscovery.h"
#include "protocol.h"

#include <QCommandLineParser>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QUrl>

#include <cmath>
#include <limits>
#include <optional>

namespace nightlight {

namespace {

struct OptionSpec
{
    const char *name;
    const char *valueName; // nullptr: a flag
    const char *description;
    bool hidden = false;
};

// Every option that may also appear in the config file, in --help order.
const OptionSpec optionSpecs[] = {
    {"id", "id", "Device id: the first part of every topic (default nightlight)."},
    {"host", "host", "MQTT broker host (default localhost)."},
    {"port", "port", "MQTT broker port, 1..65535 (default 1883)."},
    {"tls-ca", "file", "Use TLS, verifying the broker against this CA certificate file."},
    {"username", "name", "MQTT user name."},
    {"password-file", "file",
     "Read the MQTT password from this file (else from the environment variable "
     "NIGHTLIGHT_PASSWORD)."},
    {"client-id", "id", "MQTT client id (default <id>-nightlight-device)."},
    {"mqtt-version", "version",
     "MQTT protocol: auto (5, falling back to 3.1.1), 5 or 3.1.1 (default auto)."},
    {"interval-ms", "ms", "Sampling interval in milliseconds, >= 50 (default 5000)."},
    {"threshold", "level", "Auto mode: LED on while light < threshold (default 300)."},
    {"hysteresis", "level", "Auto mode: LED off once light >= threshold + this (default 20)."},
    {"sensor", "backend", "Light sensor: simulated, grove or counterfit (default simulated)."},
    {"led", "backend", "LED: simulated, grove or counterfit (default: as --sensor)."},
    {"simulated-period-ms", "ms",
     "Simulated sensor: one day/night cycle in milliseconds (default 120000)."},
    {"simulated-seed", "n", "Simulated sensor: seed of the noise (default 1)."},
    {"i2c-bus", "n", "Grove: I2C bus number, /dev/i2c-<n> (default 1)."},
    {"adc-address", "addr", "Grove: ADC I2C address, 0x04 or 4 (default: probe 0x04, 0x08)."},
    {"adc-channel", "n", "Grove: ADC channel of the light sensor, 0..7 (default 0 = A0)."},
    {"gpio-chip", "chip",
     "Grove: GPIO chip name, path or label (default: the chip with a line named GPIO5)."},
    {"led-line", "n", "Grove: GPIO line of the LED (default 5 = D5)."},
    {"counterfit-url", "url", "CounterFit: base URL (default http://127.0.0.1:5000)."},
    {"counterfit-sensor-pin", "pin", "CounterFit: light sensor pin (default 0)."},
    {"counterfit-led-pin", "pin", "CounterFit: LED pin (default 5)."},
    {"buffer-size", "samples",
     "Telemetry samples kept while the broker is unreachable (default 10000)."},
    {"reconnect-min-ms", "ms", "Advanced: first MQTT reconnect delay (default 500).", true},
    {"telemetry-qos1-window-ms", "ms",
     "Advanced: telemetry goes at QoS 1 for this long after each connect (default 60000).", true},
    {"reconnect-max-ms", "ms", "Advanced: longest MQTT reconnect delay (default 30000).", true},
    {"verbose", nullptr, "Log debug messages (nightlight.* categories)."},
    {"ha-discovery", nullptr,
     "Publish Home Assistant MQTT discovery configs (retained) and answer its birth message."},
    {"ha-discovery-prefix", "prefix", "Home Assistant discovery prefix (default homeassistant)."},
};

const QStringList backendNames = {QStringLiteral("simulated"), QStringLiteral("grove"),
                                  QStringLiteral("counterfit")};

// Where a value came from, for error messages.
struct RawValue
{
    QString value;
    QString source; // "--port", or "port" from the config file
    QString file; // the config file, empty for the command line
};

class Reader
{
public:
    Reader(const QCommandLineParser &parser, const QSettings *settings, const QString &configFile)
        : m_parser(parser), m_settings(settings), m_configFile(configFile)
    { }

    std::optional<RawValue> raw(const char *name) const
    {
        const QString key = QLatin1String(name);
        if (m_parser.isSet(key))
            return RawValue{m_parser.value(key), QStringLiteral("--") + key, QString()};
        if (m_settings && m_settings->contains(key)) {
            const QVariant v = m_settings->value(key);
            // QSettings splits unquoted values at commas into a QStringList.
            const QString text = v.userType() == QMetaType::QStringList
                ? v.toStringList().join(QLatin1Char(','))
                : v.toString();
            return RawValue{text.trimmed(), key, m_configFile};
        }
        return std::nullopt;
    }

    // Sets *out from an integer option within [min, max]; base 0 accepts 0x.. too.
    bool integer(const char *name, int min, int max, int *out, int base = 10)
    {
        const auto r = raw(name);
        if (!r)
            return true;
        bool ok = false;
        const qlonglong v = r->value.toLongLong(&ok, base);
        if (!ok)
            return fail(*r, QStringLiteral("not a whole number"));
        if (v < min || v > max) {
            return fail(*r, QStringLiteral("must be between %1 and %2").arg(min).arg(max));
        }
        *out = int(v);
        return true;
    }

    bool number(const char *name, double min, double max, double *out)
    {
        const auto r = raw(name);
        if (!r)
            return true;
        bool ok = false;
        const double v = r->value.toDouble(&ok);
        if (!ok || !std::isfinite(v))
            return fail(*r, QStringLiteral("not a number"));
        if (v < min || v > max)
            return fail(*r, QStringLiteral("must be between %1 and %2").arg(min).arg(max));
        *out = v;
        return true;
    }

    bool string(const char *name, QString *out, bool allowEmpty = false)
    {
        const auto r = raw(name);
        if (!r)
            return true;
        if (!allowEmpty && r->value.isEmpty())
            return fail(*r, QStringLiteral("must not be empty"));
        *out = r->value;
        return true;
    }

    bool backend(const char *name, QString *out)
    {
        const auto r = raw(name);
        if (!r)
            return true;
        if (!backendNames.contains(r->value)) {
            return fail(*r,
                        QStringLiteral("unknown backend (expected simulated, grove or "
                                       "counterfit)"));
        }
        *out = r->value;
        return true;
    }

    bool haDiscoveryPrefix(const char *name, QString *out)
    {
        const auto r = raw(name);
        if (!r)
            return true;
        if (const auto why = HaDiscovery::prefixError(r->value))
            return fail(*r, *why);
        *out = r->value;
        return true;
    }

    bool mqttVersion(const char *name, MqttClient::ProtocolVersion *out)
    {
        const auto r = raw(name);
        if (!r)
            return true;
        if (r->value == QLatin1String("auto"))
            *out = MqttClient::ProtocolVersion::Auto;
        else if (r->value == QLatin1String("5"))
            *out = MqttClient::ProtocolVersion::Mqtt5;
        else if (r->value == QLatin1String("3.1.1"))
            *out = MqttClient::ProtocolVersion::Mqtt311;
        else
            return fail(*r, QStringLiteral("unknown MQTT version (expected auto, 5 or 3.1.1)"));
        return true;
    }

    bool flag(const char *name, bool *out)
    {
        const QString key = QLatin1String(name);
        if (m_parser.isSet(key)) {
            *out = true;
            return true;
        }
        const auto r = raw(name);
        if (!r)
            return true;
        const QString v = r->value.toLower();
        if (v == QLatin1String("true") || v == QLatin1String("1") || v == QLatin1String("yes")) {
            *out = true;
        } else if (v == QLatin1String("false") || v == QLatin1String("0") ||
                   v == QLatin1String("no")) {
            *out = false;
        } else {
            return fail(*r, QStringLiteral("must be true or false"));
        }
        return true;
    }

    bool fail(const RawValue &r, const QString &why)
    {
        const QString where = r.file.isEmpty() ? QString() : QStringLiteral(" in ") + r.file;
        m_error = QStringLiteral("invalid %1 \"%2\"%3: %4").arg(r.source, r.value, where, why);
        return false;
    }
    bool fail(const QString &message)
    {
        m_error = message;
        return false;
    }
    QString error() const { return m_error; }

private:
    const QCommandLineParser &m_parser;
    const QSettings *m_settings;
    QString m_configFile;
    QString m_error;
};

// The password file's content without the trailing newline editors add.
std::optional<QString> readPasswordFile(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read password file %1: %2").arg(path, file.errorString());
        return std::nullopt;
    }
    QByteArray data = file.read(64 * 1024);
    while (data.endsWith('\n') || data.endsWith('\r'))
        data.chop(1);
    return QString::fromUtf8(data);
}

} // namespace

DeviceOptions::ParseResult DeviceOptions::parse(const QStringList &arguments,
                                                const QProcessEnvironment &environment)
{
    ParseResult result;
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Nightlight device: reads a light sensor, switches an LED and talks "
                       "MQTT (topics <id>/telemetry, <id>/commands, <id>/state, "
                       "<id>/status).\nThe password comes from --password-file or the "
                       "environment variable NIGHTLIGHT_PASSWORD, never from the command "
                       "line."));
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption(QStringLiteral("version"),
                                           QStringLiteral("Show the version and exit."));
    parser.addOption(versionOption);
    parser.addOption(QCommandLineOption(
        QStringLiteral("config"),
        QStringLiteral("Read options from this INI file (keys like the long options, e.g. "
                       "interval-ms=1000); the command line wins."),
        QStringLiteral("file")));
    for (const OptionSpec &spec : optionSpecs) {
        QStringList names{QLatin1String(spec.name)};
        if (qstrcmp(spec.name, "verbose") == 0)
            names.prepend(QStringLiteral("v"));
        QCommandLineOption option(names, QLatin1String(spec.description));
        if (spec.valueName)
            option.setValueName(QLatin1String(spec.valueName));
        if (spec.hidden)
            option.setFlags(QCommandLineOption::HiddenFromHelp);
        parser.addOption(option);
    }
    // An action, not a setting: on the command line only, never in the config file.
    const QCommandLineOption haRemoveOption(
        QStringLiteral("ha-discovery-remove"),
        QStringLiteral("Remove the Home Assistant discovery configs (empty retained payloads "
                       "under --ha-discovery-prefix), wait for the broker, exit."));
    parser.addOption(haRemoveOption);

    if (!parser.parse(arguments)) {
        result.text = parser.errorText();
        return result;
    }
    if (parser.isSet(helpOption)) {
        result.action = Action::ShowHelp;
        result.text = parser.helpText();
        return result;
    }
    if (parser.isSet(versionOption)) {
        result.action = Action::ShowVersion;
        result.text =
            QStringLiteral("nightlight-device %1\n").arg(QLatin1String(NIGHTLIGHT_VERSION));
        return result;
    }
    if (!parser.positionalArguments().isEmpty()) {
        result.text = QStringLiteral("unexpected argument \"%1\" (see --help)")
                          .arg(parser.positionalArguments().constFirst());
        return result;
    }

    DeviceOptions o;
    std::unique_ptr<QSettings> settings;
    if (parser.isSet(QStringLiteral("config"))) {
        o.configFile = parser.value(QStringLiteral("config"));
        QFile probe(o.configFile);
        if (QFileInfo(o.configFile).isDir() || !probe.open(QIODevice::ReadOnly)) {
            result.text =
                QStringLiteral("cannot read config file %1: %2")
                    .arg(o.configFile,
                         QFileInfo(o.configFile).isDir() ? QStringLiteral("Is a directory")
                                                         : probe.errorString());
            return result;
        }
        settings = std::make_unique<QSettings>(o.configFile, QSettings::IniFormat);
        if (settings->status() != QSettings::NoError) {
            result.text = QStringLiteral("cannot parse config file %1").arg(o.configFile);
            return result;
        }
        // A misspelt key would otherwise be ignored silently. QSettings' INI reader knows only
        // ";" comments: a "#" line holding a "=" comes back as a key ("#port", "# on while light
        // < threshold, off once light >"). Such keys are our comments (resources/device.conf).
        for (const QString &key : settings->allKeys()) {
            if (key.startsWith(QLatin1Char('#')))
                continue;
            const bool known =
                std::any_of(std::begin(optionSpecs), std::end(optionSpecs),
                            [&](const OptionSpec &s) { return key == QLatin1String(s.name); });
            if (!known) {
                result.text = QStringLiteral("unknown key \"%1\" in config file %2 (keys are the "
                                             "long option names, in the [General] section)")
                                  .arg(key, o.configFile);
                return result;
            }
        }
    }

    o.haDiscoveryRemove = parser.isSet(haRemoveOption);
    Reader r(parser, settings.get(), o.configFile);
    BackendOptions &b = o.backends;
    int port = o.port;
    int seed = int(b.simulatedSeed);
    int adcAddress = -1;
    QString clientId;
    QString passwordFile;
    const bool ok = r.string("id", &o.id) && r.string("host", &o.host) &&
        r.integer("port", 1, 65535, &port) && r.string("tls-ca", &o.tlsCaFile) &&
        r.string("username", &o.username) && r.string("password-file", &passwordFile) &&
        r.string("client-id", &clientId) && r.mqttVersion("mqtt-version", &o.mqttVersion) &&
        r.integer("interval-ms", 50, 24 * 3600 * 1000, &o.intervalMs) &&
        r.number("threshold", 0, MaxLevel, &o.threshold) &&
        r.number("hysteresis", 0, MaxLevel, &o.hysteresis) && r.backend("sensor", &b.sensor) &&
        r.backend("led", &b.led) &&
        r.integer("simulated-period-ms", 1000, std::numeric_limits<int>::max(),
                  &b.simulatedPeriodMs) &&
        r.integer("simulated-seed", 0, std::numeric_limits<int>::max(), &seed) &&
        r.integer("i2c-bus", 0, 255, &b.i2cBus) &&
        r.integer("adc-address", 0x03, 0x77, &adcAddress, 0) &&
        r.integer("adc-channel", 0, 7, &b.adcChannel) && r.string("gpio-chip", &b.gpioChip) &&
        r.integer("led-line", 0, 4095, &b.ledLine) &&
        r.integer("counterfit-sensor-pin", 0, 1000, &b.counterfitSensorPin) &&
        r.integer("counterfit-led-pin", 0, 1000, &b.counterfitLedPin) &&
        r.integer("buffer-size", 1, 10000000, &o.bufferSize) &&
        r.integer("reconnect-min-ms", 10, 3600 * 1000, &o.reconnectMinMs) &&
        r.integer("reconnect-max-ms", 10, 3600 * 1000, &o.reconnectMaxMs) &&
        r.integer("telemetry-qos1-window-ms", 0, 3600 * 1000, &o.telemetryQos1WindowMs) &&
        r.flag("verbose", &o.verbose) && r.flag("ha-discovery", &o.haDiscovery) &&
        r.haDiscoveryPrefix("ha-discovery-prefix", &o.haDiscoveryPrefix);
    if (!ok) {
        result.text = r.error();
        return result;
    }
    if (const QString why = deviceIdError(o.id); !why.isEmpty()) {
        result.text = QStringLiteral("invalid device id \"%1\": %2").arg(o.id, why);
        return result;
    }
    if (const auto url = r.raw("counterfit-url")) {
        const QUrl u(url->value, QUrl::StrictMode);
        if (!u.isValid() || u.host().isEmpty() ||
            (u.scheme() != QLatin1String("http") && u.scheme() != QLatin1String("https"))) {
            r.fail(*url, QStringLiteral("not an http:// or https:// URL"));
            result.text = r.error();
            return result;
        }
        b.counterfitUrl = u;
    }
    o.port = quint16(port);
    b.simulatedSeed = quint32(seed);
    if (adcAddress >= 0)
        b.adcAddress = adcAddress;
    if (o.reconnectMaxMs < o.reconnectMinMs)
        o.reconnectMaxMs = o.reconnectMinMs;
    o.clientId = clientId.isEmpty() ? o.id + QStringLiteral("-nightlight-device") : clientId;

    if (!passwordFile.isEmpty()) {
        QString error;
        const auto password = readPasswordFile(passwordFile, &error);
        if (!password) {
            result.text = error;
            return result;
        }
        o.password = *password;
    } else if (environment.contains(QStringLiteral("NIGHTLIGHT_PASSWORD"))) {
        o.password = environment.value(QStringLiteral("NIGHTLIGHT_PASSWORD"));
    }
    if (!o.password.isEmpty() && o.username.isEmpty()) {
        result.text = QStringLiteral("a password is set (password file or NIGHTLIGHT_PASSWORD) "
                                     "but no --username");
        return result;
    }

    result.action = Action::Run;
    result.options = o;
    return result;
}

} // namespace nightlight
