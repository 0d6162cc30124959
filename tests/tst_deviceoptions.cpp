// DeviceOptions: command lines, config files and the environment, good and bad, parsed without
// running the program. Files are real, in a QTemporaryDir.

#include "deviceoptions.h"

#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace nightlight;

namespace {

// Every field, by the name of its option, for comparing a few of them per row.
QVariantMap toMap(const DeviceOptions &o)
{
    const BackendOptions &b = o.backends;
    return {
        {QStringLiteral("id"), o.id},
        {QStringLiteral("host"), o.host},
        {QStringLiteral("port"), int(o.port)},
        {QStringLiteral("tls-ca"), o.tlsCaFile},
        {QStringLiteral("username"), o.username},
        {QStringLiteral("password"), o.password},
        {QStringLiteral("client-id"), o.clientId},
        {QStringLiteral("interval-ms"), o.intervalMs},
        {QStringLiteral("threshold"), o.threshold},
        {QStringLiteral("hysteresis"), o.hysteresis},
        {QStringLiteral("buffer-size"), o.bufferSize},
        {QStringLiteral("reconnect-min-ms"), o.reconnectMinMs},
        {QStringLiteral("reconnect-max-ms"), o.reconnectMaxMs},
        {QStringLiteral("verbose"), o.verbose},
        {QStringLiteral("sensor"), b.sensor},
        {QStringLiteral("led"), b.ledBackend()},
        {QStringLiteral("simulated-period-ms"), b.simulatedPeriodMs},
        {QStringLiteral("simulated-seed"), int(b.simulatedSeed)},
        {QStringLiteral("i2c-bus"), b.i2cBus},
        {QStringLiteral("adc-address"), b.adcAddress ? *b.adcAddress : -1},
        {QStringLiteral("adc-channel"), b.adcChannel},
        {QStringLiteral("gpio-chip"), b.gpioChip},
        {QStringLiteral("led-line"), b.ledLine},
        {QStringLiteral("counterfit-url"), b.counterfitUrl.toString()},
        {QStringLiteral("counterfit-sensor-pin"), b.counterfitSensorPin},
        {QStringLiteral("counterfit-led-pin"), b.counterfitLedPin},
        {QStringLiteral("ha-discovery"), o.haDiscovery},
        {QStringLiteral("ha-discovery-prefix"), o.haDiscoveryPrefix},
        {QStringLiteral("ha-discovery-remove"), o.haDiscoveryRemove},
    };
}

QStringList strings(std::initializer_list<const char *> items)
{
    QStringList l;
    for (const char *s : items)
        l << QString::fromUtf8(s);
    return l;
}

QVariantMap map(std::initializer_list<std::pair<const char *, QVariant>> items)
{
    QVariantMap m;
    for (const auto &[k, v] : items)
        m.insert(QString::fromUtf8(k), v);
    return m;
}

} // namespace

class TestDeviceOptions : public QObject
{
    Q_OBJECT

private slots:
    void good_data();
    void good();
    void bad_data();
    void bad();
    void helpAndVersion();
    void helpHasNoPasswordOption();
    void shippedConfigExample();

private:
    // Writes the config (if any) and a password file into a fresh temporary dir; %DIR% in the
    // arguments and the config stands for that dir.
    DeviceOptions::ParseResult run(const QStringList &args, const QString &config,
                                   const QString &envPassword);
    std::unique_ptr<QTemporaryDir> m_dir;
};

DeviceOptions::ParseResult TestDeviceOptions::run(const QStringList &args, const QString &config,
                                                  const QString &envPassword)
{
    m_dir = std::make_unique<QTemporaryDir>();
    [&] {
        QVERIFY(m_dir->isValid());
    }();
    const QString dir = m_dir->path();
    QFile pw(dir + QStringLiteral("/password"));
    [&] {
        QVERIFY(pw.open(QIODevice::WriteOnly));
    }();
    pw.write("s3cret pass\n");
    pw.close();
    if (!config.isNull()) {
        QFile conf(dir + QStringLiteral("/device.conf"));
        [&] {
            QVERIFY(conf.open(QIODevice::WriteOnly));
        }();
        conf.write(QString(config).replace(QStringLiteral("%DIR%"), dir).toUtf8());
    }
    QStringList argv{QStringLiteral("nightlight-device")};
    for (QString a : args)
        argv << a.replace(QStringLiteral("%DIR%"), dir);
    QProcessEnvironment env;
    if (!envPassword.isNull())
        env.insert(QStringLiteral("NIGHTLIGHT_PASSWORD"), envPassword);
    return DeviceOptions::parse(argv, env);
}

void TestDeviceOptions::good_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("config"); // null: no file
    QTest::addColumn<QString>("envPassword"); // null: not set
    QTest::addColumn<QVariantMap>("expected");

    const QString none;
    QTest::newRow("defaults") << QStringList() << none << none
                              << map({{"id", QStringLiteral("nightlight")},
                                      {"host", QStringLiteral("localhost")},
                                      {"port", 1883},
                                      {"client-id", QStringLiteral("nightlight-nightlight-device")},
                                      {"interval-ms", 5000},
                                      {"threshold", 300.0},
                                      {"hysteresis", 20.0},
                                      {"buffer-size", 10000},
                                      {"sensor", QStringLiteral("simulated")},
                                      {"led", QStringLiteral("simulated")},
                                      {"password", QString()},
                                      {"adc-address", -1},
                                      {"verbose", false}});
    QTest::newRow("id sets the client id")
        << strings({"--id", "kitchen-1"}) << none << none
        << map({{"id", QStringLiteral("kitchen-1")},
                {"client-id", QStringLiteral("kitchen-1-nightlight-device")}});
    QTest::newRow("client id given") << strings({"--id", "a", "--client-id", "mine"}) << none
                                     << none << map({{"client-id", QStringLiteral("mine")}});
    QTest::newRow("host and port")
        << strings({"--host", "broker.lan", "--port", "8883"}) << none << none
        << map({{"host", QStringLiteral("broker.lan")}, {"port", 8883}});
    QTest::newRow("port 1 and 65535")
        << strings({"--port", "65535"}) << none << none << map({{"port", 65535}});
    QTest::newRow("interval 50 is the minimum")
        << strings({"--interval-ms", "50"}) << none << none << map({{"interval-ms", 50}});
    QTest::newRow("threshold and hysteresis")
        << strings({"--threshold", "200.5", "--hysteresis", "0"}) << none << none
        << map({{"threshold", 200.5}, {"hysteresis", 0.0}});
    QTest::newRow("led defaults to the sensor")
        << strings({"--sensor", "counterfit"}) << none << none
        << map({{"sensor", QStringLiteral("counterfit")}, {"led", QStringLiteral("counterfit")}});
    QTest::newRow("led differs from the sensor")
        << strings({"--sensor", "grove", "--led", "simulated"}) << none << none
        << map({{"sensor", QStringLiteral("grove")}, {"led", QStringLiteral("simulated")}});
    QTest::newRow("adc address in hex")
        << strings({"--adc-address", "0x04"}) << none << none << map({{"adc-address", 4}});
    QTest::newRow("adc address in decimal")
        << strings({"--adc-address", "8"}) << none << none << map({{"adc-address", 8}});
    QTest::newRow("grove settings") << strings({"--i2c-bus", "3", "--adc-channel", "2",
                                                "--gpio-chip", "gpiochip4", "--led-line", "16"})
                                    << none << none
                                    << map({{"i2c-bus", 3},
                                            {"adc-channel", 2},
                                            {"gpio-chip", QStringLiteral("gpiochip4")},
                                            {"led-line", 16}});
    QTest::newRow("counterfit settings")
        << strings({"--counterfit-url", "http://10.0.0.2:5001", "--counterfit-sensor-pin", "1",
                    "--counterfit-led-pin", "7"})
        << none << none
        << map({{"counterfit-url", QStringLiteral("http://10.0.0.2:5001")},
                {"counterfit-sensor-pin", 1},
                {"counterfit-led-pin", 7}});
    QTest::newRow("simulated settings")
        << strings({"--simulated-period-ms", "60000", "--simulated-seed", "7"}) << none << none
        << map({{"simulated-period-ms", 60000}, {"simulated-seed", 7}});
    QTest::newRow("buffer size") << strings({"--buffer-size", "5"}) << none << none
                                 << map({{"buffer-size", 5}});
    QTest::newRow("reconnect delays (hidden)")
        << strings({"--reconnect-min-ms", "4000"}) << none << none
        << map({{"reconnect-min-ms", 4000}, {"reconnect-max-ms", 30000}});
    QTest::newRow("verbose short") << strings({"-v"}) << none << none << map({{"verbose", true}});
    QTest::newRow("verbose long") << strings({"--verbose"}) << none << none
                                  << map({{"verbose", true}});
    QTest::newRow("tls ca") << strings({"--tls-ca", "/etc/ssl/ca.crt"}) << none << none
                            << map({{"tls-ca", QStringLiteral("/etc/ssl/ca.crt")}});
    QTest::newRow("password from file")
        << strings({"--username", "u", "--password-file", "%DIR%/password"}) << none << none
        << map({{"username", QStringLiteral("u")}, {"password", QStringLiteral("s3cret pass")}});
    QTest::newRow("password from the environment")
        << strings({"--username", "u"}) << none << QStringLiteral("from env")
        << map({{"password", QStringLiteral("from env")}});
    QTest::newRow("password file wins over the environment")
        << strings({"--username", "u", "--password-file", "%DIR%/password"}) << none
        << QStringLiteral("from env") << map({{"password", QStringLiteral("s3cret pass")}});
    QTest::newRow("config file")
        << strings({"--config", "%DIR%/device.conf"})
        << QStringLiteral("# comment\nid=porch\nhost=10.0.0.1\nport=1884\ninterval-ms=1000\n"
                          "threshold=250\nsensor=grove\nled=simulated\nadc-address=0x08\n"
                          "username=dev\npassword-file=%DIR%/password\nverbose=true\n"
                          "counterfit-url=http://127.0.0.1:5000\n")
        << none
        << map({{"id", QStringLiteral("porch")},
                {"client-id", QStringLiteral("porch-nightlight-device")},
                {"host", QStringLiteral("10.0.0.1")},
                {"port", 1884},
                {"interval-ms", 1000},
                {"threshold", 250.0},
                {"sensor", QStringLiteral("grove")},
                {"led", QStringLiteral("simulated")},
                {"adc-address", 8},
                {"username", QStringLiteral("dev")},
                {"password", QStringLiteral("s3cret pass")},
                {"verbose", true}});
    QTest::newRow("config file: # lines with = are comments")
        << strings({"--config", "%DIR%/device.conf"})
        << QStringLiteral("# on while light < threshold, off once light >= threshold + 20\n"
                          "#port=1\n# (<id>/telemetry, a=b)\nport=1884\n")
        << none << map({{"port", 1884}});
    QTest::newRow("config file in [General]")
        << strings({"--config", "%DIR%/device.conf"})
        << QStringLiteral("[General]\ninterval-ms=2000\n") << none << map({{"interval-ms", 2000}});
    QTest::newRow("command line wins over the file")
        << strings({"--config", "%DIR%/device.conf", "--interval-ms", "100", "--id", "cli"})
        << QStringLiteral("interval-ms=1000\nid=file\nthreshold=111\n") << none
        << map({{"interval-ms", 100}, {"id", QStringLiteral("cli")}, {"threshold", 111.0}});
    QTest::newRow("empty config file") << strings({"--config", "%DIR%/device.conf"}) << QString()
                                       << none << map({{"interval-ms", 5000}});
    QTest::newRow("home assistant off by default")
        << QStringList() << none << none
        << map({{"ha-discovery", false},
                {"ha-discovery-prefix", QStringLiteral("homeassistant")},
                {"ha-discovery-remove", false}});
    QTest::newRow("home assistant on the command line")
        << strings({"--ha-discovery", "--ha-discovery-prefix", "ha/test"}) << none << none
        << map({{"ha-discovery", true},
                {"ha-discovery-prefix", QStringLiteral("ha/test")},
                {"ha-discovery-remove", false}});
    QTest::newRow("home assistant in the config file")
        << strings({"--config", "%DIR%/device.conf"})
        << QStringLiteral("ha-discovery=true\nha-discovery-prefix=hass\n") << none
        << map({{"ha-discovery", true}, {"ha-discovery-prefix", QStringLiteral("hass")}});
    QTest::newRow("home assistant removal")
        << strings({"--ha-discovery-remove"}) << none << none
        << map({{"ha-discovery-remove", true}, {"ha-discovery", false}});
}

void TestDeviceOptions::good()
{
    QFETCH(QStringList, args);
    QFETCH(QString, config);
    QFETCH(QString, envPassword);
    QFETCH(QVariantMap, expected);
    if (config.isNull() && args.contains(QStringLiteral("--config")))
        config = QStringLiteral(""); // an empty, existing file
    const auto result = run(args, config, envPassword);
    QVERIFY2(result.action == DeviceOptions::Action::Run, qPrintable(result.text));
    const QVariantMap actual = toMap(result.options);
    for (auto it = expected.cbegin(); it != expected.cend(); ++it) {
        QVERIFY2(actual.contains(it.key()), qPrintable(it.key()));
        QCOMPARE(actual.value(it.key()), it.value());
    }
}

void TestDeviceOptions::bad_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("config");
    QTest::addColumn<QString>("envPassword");
    QTest::addColumn<QString>("message"); // a part of the error message

    const QString none;
    const auto row = [&](const char *name, std::initializer_list<const char *> args,
                         const char *message, const QString &config = QString(),
                         const QString &env = QString()) {
        QTest::newRow(name) << strings(args) << config << env << QString::fromUtf8(message);
    };
    row("id with a slash", {"--id", "a/b"}, "invalid device id \"a/b\"");
    row("id with a plus", {"--id", "a+"}, "invalid device id");
    row("id with a hash", {"--id", "#"}, "invalid device id");
    row("id empty", {"--id", ""}, "invalid --id \"\": must not be empty");
    row("id too long",
        {"--id", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        "invalid device id");
    row("port 0", {"--port", "0"}, "invalid --port \"0\": must be between 1 and 65535");
    row("port 70000", {"--port", "70000"}, "invalid --port \"70000\": must be between 1 and 65535");
    row("port not a number", {"--port", "http"}, "invalid --port \"http\": not a whole number");
    row("interval 10", {"--interval-ms", "10"}, "invalid --interval-ms \"10\": must be between 50");
    row("interval not a number", {"--interval-ms", "fast"}, "not a whole number");
    row("interval fractional", {"--interval-ms", "100.5"}, "not a whole number");
    row("threshold not a number", {"--threshold", "dark"}, "invalid --threshold \"dark\"");
    row("threshold negative", {"--threshold", "-5"}, "must be between 0 and");
    row("threshold nan", {"--threshold", "nan"}, "not a number");
    row("hysteresis negative", {"--hysteresis", "-1"}, "invalid --hysteresis");
    row("unknown sensor", {"--sensor", "camera"}, "invalid --sensor \"camera\": unknown backend");
    row("unknown led", {"--led", "lamp"}, "invalid --led \"lamp\": unknown backend");
    row("adc address out of range", {"--adc-address", "0x99"}, "invalid --adc-address");
    row("adc address garbage", {"--adc-address", "0xzz"}, "not a whole number");
    row("adc channel 8", {"--adc-channel", "8"}, "invalid --adc-channel");
    row("buffer size 0", {"--buffer-size", "0"}, "invalid --buffer-size");
    row("counterfit url without scheme", {"--counterfit-url", "localhost:5000"},
        "not an http:// or https:// URL");
    row("missing value", {"--port"}, "Missing value after '--port'");
    row("unknown option", {"--password", "x"}, "Unknown option 'password'");
    row("positional argument", {"extra"}, "unexpected argument \"extra\"");
    row("missing config file", {"--config", "%DIR%/nope.conf"}, "cannot read config file");
    row("config file is a directory", {"--config", "%DIR%"}, "cannot read config file");
    row("bad value in config", {"--config", "%DIR%/device.conf"}, "invalid interval-ms \"10\" in ",
        QStringLiteral("interval-ms=10\n"));
    row("bad port in config", {"--config", "%DIR%/device.conf"}, "invalid port \"70000\" in ",
        QStringLiteral("port=70000\n"));
    row("unknown key in config", {"--config", "%DIR%/device.conf"}, "unknown key \"intervall-ms\"",
        QStringLiteral("intervall-ms=1000\n"));
    row("password in config is refused", {"--config", "%DIR%/device.conf"},
        "unknown key \"password\"", QStringLiteral("password=x\n"));
    row("bad verbose in config", {"--config", "%DIR%/device.conf"}, "must be true or false",
        QStringLiteral("verbose=maybe\n"));
    row("missing password file", {"--username", "u", "--password-file", "%DIR%/none"},
        "cannot read password file");
    row("password without a user name", {"--password-file", "%DIR%/password"}, "but no --username");
    row("env password without a user name", {}, "but no --username", QString(),
        QStringLiteral("x"));
    row("empty discovery prefix", {"--ha-discovery-prefix", ""},
        "invalid --ha-discovery-prefix \"\": must not be empty");
    row("discovery prefix with +", {"--ha-discovery-prefix", "home+assistant"},
        "invalid --ha-discovery-prefix \"home+assistant\": must not contain the MQTT wildcards");
    row("discovery prefix with #", {"--ha-discovery-prefix", "ha/#"},
        "invalid --ha-discovery-prefix \"ha/#\": must not contain the MQTT wildcards");
    row("discovery prefix with a leading /", {"--ha-discovery-prefix", "/homeassistant"},
        "must not start or end with /");
    row("discovery prefix with a trailing /", {"--ha-discovery-prefix", "homeassistant/"},
        "must not start or end with /");
    row("empty discovery prefix in config", {"--config", "%DIR%/device.conf"},
        "invalid ha-discovery-prefix \"\" in ", QStringLiteral("ha-discovery-prefix=\n"));
    row("bad ha-discovery in config", {"--config", "%DIR%/device.conf"}, "must be true or false",
        QStringLiteral("ha-discovery=sometimes\n"));
    row("removal is not a config key", {"--config", "%DIR%/device.conf"},
        "unknown key \"ha-discovery-remove\"", QStringLiteral("ha-discovery-remove=true\n"));
}

void TestDeviceOptions::bad()
{
    QFETCH(QStringList, args);
    QFETCH(QString, config);
    QFETCH(QString, envPassword);
    QFETCH(QString, message);
    const auto result = run(args, config, envPassword);
    QCOMPARE(result.action, DeviceOptions::Action::Fail);
    QVERIFY2(result.text.contains(message), qPrintable(result.text));
}

void TestDeviceOptions::helpAndVersion()
{
    auto result = run({QStringLiteral("--help")}, QString(), QString());
    QCOMPARE(result.action, DeviceOptions::Action::ShowHelp);
    QVERIFY(result.text.contains(QLatin1String("--interval-ms <ms>")));
    QVERIFY(result.text.contains(QLatin1String("NIGHTLIGHT_PASSWORD")));
    QVERIFY(!result.text.contains(QLatin1String("--reconnect-min-ms"))); // advanced: hidden

    result = run({QStringLiteral("--version")}, QString(), QString());
    QCOMPARE(result.action, DeviceOptions::Action::ShowVersion);
    QCOMPARE(result.text, QStringLiteral("nightlight-device " NIGHTLIGHT_VERSION "\n"));
}

void TestDeviceOptions::helpHasNoPasswordOption()
{
    const auto result = run({QStringLiteral("-h")}, QString(), QString());
    QCOMPARE(result.action, DeviceOptions::Action::ShowHelp);
    QVERIFY(!result.text.contains(QLatin1String("--password ")));
    QVERIFY(result.text.contains(QLatin1String("--password-file <file>")));
}

// resources/device.conf mentions every option; as shipped (all comments) and with every example
// line uncommented it is a valid config that means the defaults.
void TestDeviceOptions::shippedConfigExample()
{
    const QString path = QFINDTESTDATA("../resources/device.conf");
    QVERIFY(!path.isEmpty());
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(file.readAll());
    const QRegularExpression example(QStringLiteral("^#([a-z0-9-]+)=(.*)$"),
                                     QRegularExpression::MultilineOption);
    QStringList keys;
    QString uncommented;
    for (auto it = example.globalMatch(text); it.hasNext();) {
        const auto m = it.next();
        keys << m.captured(1);
        // Not these: an empty user name is refused, and the password file does not exist here.
        if (m.captured(1) != QLatin1String("username") &&
            m.captured(1) != QLatin1String("password-file"))
            uncommented += m.captured(1) + QLatin1Char('=') + m.captured(2) + QLatin1Char('\n');
    }
    const QStringList all = strings({"id",
                                     "host",
                                     "port",
                                     "tls-ca",
                                     "username",
                                     "password-file",
                                     "client-id",
                                     "interval-ms",
                                     "threshold",
                                     "hysteresis",
                                     "buffer-size",
                                     "sensor",
                                     "led",
                                     "simulated-period-ms",
                                     "simulated-seed",
                                     "i2c-bus",
                                     "adc-address",
                                     "adc-channel",
                                     "gpio-chip",
                                     "led-line",
                                     "counterfit-url",
                                     "counterfit-sensor-pin",
                                     "counterfit-led-pin",
                                     "verbose",
                                     "reconnect-min-ms",
                                     "reconnect-max-ms",
                                     "ha-discovery",
                                     "ha-discovery-prefix"});
    for (const QString &k : all)
        QVERIFY2(keys.contains(k), qPrintable(k));

    const auto defaults = run({}, QString(), QString());
    QCOMPARE(defaults.action, DeviceOptions::Action::Run);
    const auto result = run({QStringLiteral("--config"), QStringLiteral("%DIR%/device.conf")},
                            uncommented, QString());
    QVERIFY2(result.action == DeviceOptions::Action::Run, qPrintable(result.text));
    QVariantMap expected = toMap(defaults.options);
    expected[QStringLiteral("tls-ca")] = QStringLiteral("/etc/nightlight/ca.crt");
    expected[QStringLiteral("adc-address")] = 4;
    expected[QStringLiteral("gpio-chip")] = QStringLiteral("gpiochip0");
    expected[QStringLiteral("ha-discovery")] = false;
    QCOMPARE(toMap(result.options), expected);

    // As shipped, all comments (the package's /etc/nightlight/device.conf): the defaults.
    const auto asShipped =
        run({QStringLiteral("--config"), QStringLiteral("%DIR%/device.conf")}, text, QString());
    QVERIFY2(asShipped.action == DeviceOptions::Action::Run, qPrintable(asShipped.text));
    QCOMPARE(toMap(asShipped.options), toMap(defaults.options));
}

QTEST_GUILESS_MAIN(TestDeviceOptions)
#include "tst_deviceoptions.moc"
