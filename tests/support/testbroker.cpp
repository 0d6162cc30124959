#include "testbroker.h"

#include "childprocess.h"
#include "mqttclient.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QHostAddress>
#include <QSignalSpy>
#include <QTcpServer>

#include <pwd.h>
#include <unistd.h>

namespace {

quint16 freeLoopbackPort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    return server.serverPort();
}

QString currentUserName()
{
    const passwd *pw = getpwuid(getuid());
    return pw ? QString::fromLocal8Bit(pw->pw_name) : QStringLiteral("root");
}

} // namespace

TestBroker::TestBroker() : TestBroker(Options{}) { }

TestBroker::TestBroker(const Options &options) : m_options(options) { }

TestBroker::~TestBroker()
{
    kill();
}

QString TestBroker::caFile() const
{
    return m_dir.filePath(QStringLiteral("ca.crt"));
}

QString TestBroker::otherCaFile() const
{
    return m_dir.filePath(QStringLiteral("other-ca.crt"));
}

QString TestBroker::log() const
{
    if (m_process)
        m_log += m_process->readAll();
    return QString::fromLocal8Bit(m_log);
}

bool TestBroker::isRunning() const
{
    return m_process && m_process->state() == QProcess::Running;
}

bool TestBroker::run(const QString &program, const QStringList &args)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForFinished(30000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        m_error = program + QStringLiteral(" failed: ") + QString::fromLocal8Bit(p.readAll()) +
            p.errorString();
        return false;
    }
    return true;
}

bool TestBroker::makeCertificates()
{
    const auto path = [this](const char *name) {
        return m_dir.filePath(QLatin1String(name));
    };
    const QString openssl = QStringLiteral("openssl");
    // Two CAs: the one that signs the server certificate, and one a client must not trust.
    for (const char *ca : {"ca", "other-ca"}) {
        const QString name = QLatin1String(ca);
        if (!run(openssl,
                 {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                  QStringLiteral("rsa:2048"), QStringLiteral("-nodes"), QStringLiteral("-days"),
                  QStringLiteral("2"), QStringLiteral("-subj"),
                  QStringLiteral("/CN=Nightlight test ") + name, QStringLiteral("-keyout"),
                  m_dir.filePath(name + QStringLiteral(".key")), QStringLiteral("-out"),
                  m_dir.filePath(name + QStringLiteral(".crt"))}))
            return false;
    }
    QFile ext(path("server.ext"));
    if (!ext.open(QIODevice::WriteOnly))
        return false;
    ext.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    ext.close();
    return run(openssl,
               {QStringLiteral("req"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                QStringLiteral("-nodes"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                QStringLiteral("-keyout"), path("server.key"), QStringLiteral("-out"),
                path("server.csr")}) &&
        run(openssl,
            {QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"),
             path("server.csr"), QStringLiteral("-CA"), path("ca.crt"), QStringLiteral("-CAkey"),
             path("ca.key"), QStringLiteral("-CAcreateserial"), QStringLiteral("-days"),
             QStringLiteral("2"), QStringLiteral("-extfile"), path("server.ext"),
             QStringLiteral("-out"), path("server.crt")});
}

bool TestBroker::makePasswordFile()
{
    return run(QStringLiteral("mosquitto_passwd"),
               {QStringLiteral("-c"), QStringLiteral("-b"),
                m_dir.filePath(QStringLiteral("passwd")), m_options.username, m_options.password});
}

bool TestBroker::writeConfig()
{
    QFile conf(m_dir.filePath(QStringLiteral("mosquitto.conf")));
    if (!conf.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        m_error = QStringLiteral("cannot write ") + conf.fileName();
        return false;
    }
    QString text;
    // As root, mosquitto would drop privileges to "mosquitto", who cannot read our temp dir.
    text += QStringLiteral("user %1\n").arg(currentUserName());
    text += QStringLiteral("per_listener_settings false\n");
    text += QStringLiteral("set_tcp_nodelay true\n");
    text += QStringLiteral("persistence true\npersistence_location %1/\n").arg(m_dir.path());
    // stderr, not stdout: mosquitto's stdout is block-buffered into a pipe, so the "running"
    // line (our readiness handshake) and connection messages would arrive late or never.
    text += QStringLiteral("log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
                           "log_type information\nconnection_messages true\n");
    if (m_options.username.isEmpty()) {
        text += QStringLiteral("allow_anonymous true\n");
    } else {
        text += QStringLiteral("allow_anonymous false\npassword_file %1\n")
                    .arg(m_dir.filePath(QStringLiteral("passwd")));
    }
    text += QStringLiteral("listener %1 127.0.0.1\n").arg(m_port);
    if (m_options.tls) {
        text += QStringLiteral("listener %1 127.0.0.1\ncafile %2\ncertfile %3\nkeyfile %4\n")
                    .arg(m_tlsPort)
                    .arg(caFile(), m_dir.filePath(QStringLiteral("server.crt")),
                         m_dir.filePath(QStringLiteral("server.key")));
    }
    conf.write(text.toUtf8());
    return true;
}

bool TestBroker::start()
{
    if (isRunning())
        return true;
    if (!m_dir.isValid()) {
        m_error = QStringLiteral("cannot create a temporary directory");
        return false;
    }
    const bool firstStart = m_port == 0;
    if (firstStart) {
        if (m_options.tls && !makeCertificates())
            return false;
        if (!m_options.username.isEmpty() && !makePasswordFile())
            return false;
    }
    // A free port can be taken by a parallel test between our probe and mosquitto's bind: on a
    // first start, try again with fresh ports.
    for (int attempt = 0; attempt < (firstStart ? 5 : 1); ++attempt) {
        if (firstStart) {
            m_port = freeLoopbackPort();
            m_tlsPort = m_options.tls ? freeLoopbackPort() : 0;
        }
        if (!writeConfig())
            return false;
        m_log.clear();
        m_process = std::make_unique<QProcess>();
        dieWithTest(*m_process);
        m_process->setProcessChannelMode(QProcess::MergedChannels);
        m_process->start(QStringLiteral("mosquitto"),
                         {QStringLiteral("-c"), m_dir.filePath(QStringLiteral("mosquitto.conf"))});
        if (!m_process->waitForStarted(10000)) {
            m_error = QStringLiteral("cannot start mosquitto: ") + m_process->errorString();
            return false;
        }
        // Handshake: mosquitto logs "mosquitto version X running" once every listener is bound.
        const QDeadlineTimer deadline(15000);
        while (!m_log.contains(" running") && m_process->state() == QProcess::Running &&
               !deadline.hasExpired()) {
            m_process->waitForReadyRead(int(qMax<qint64>(1, deadline.remainingTime())));
            m_log += m_process->readAll();
        }
        if (m_log.contains(" running"))
            return true;
        m_error = QStringLiteral("mosquitto did not start: ") + log();
        kill();
    }
    return false;
}

void TestBroker::stop()
{
    if (!m_process)
        return;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->terminate();
        if (!m_process->waitForFinished(10000))
            m_process->kill();
        m_process->waitForFinished(5000);
    }
    m_log += m_process->readAll();
    m_process.reset();
}

void TestBroker::kill()
{
    if (!m_process)
        return;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->kill();
        m_process->waitForFinished(5000);
    }
    m_process.reset();
}

std::unique_ptr<nightlight::MqttClient> TestBroker::connectedClient() const
{
    auto client = std::make_unique<nightlight::MqttClient>();
    client->setHost(host());
    client->setPort(port());
    QSignalSpy spy(client.get(), &nightlight::MqttClient::connected);
    client->connectToHost();
    if (!spy.wait(5000))
        return nullptr;
    return client;
}

bool mosquittoPub(const TestBroker &broker, const QStringList &args)
{
    QProcess pub;
    pub.setProcessChannelMode(QProcess::ForwardedChannels);
    pub.start(QStringLiteral("mosquitto_pub"),
              QStringList{QStringLiteral("-h"), broker.host(), QStringLiteral("-p"),
                          QString::number(broker.port())} +
                  args);
    return pub.waitForFinished(60000) && pub.exitStatus() == QProcess::NormalExit &&
        pub.exitCode() == 0;
}
