#pragma once

// TestBroker: a real mosquitto process for one test executable, on free loopback ports, with its
// own config file, persistence and (optionally) TLS and a password file, all in a QTemporaryDir.
// Readiness is an explicit handshake: start() returns once mosquitto has logged that it runs.

#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <memory>

namespace nightlight {
class MqttClient;
}

class TestBroker
{
public:
    struct Options
    {
        bool tls = false; // also a TLS listener on tlsPort(), certificates made with openssl
        QString username; // non-empty: a password file with this user, anonymous refused
        QString password;
    };

    TestBroker();
    explicit TestBroker(const Options &options);
    ~TestBroker();
    TestBroker(const TestBroker &) = delete;
    TestBroker &operator=(const TestBroker &) = delete;

    // Picks free ports (first start only), writes the config and starts mosquitto. False with
    // errorString() on failure.
    bool start();
    // SIGTERM and wait (persistence is saved); restart() brings it back on the same ports.
    void stop();
    // SIGKILL, no persistence saved.
    void kill();
    bool restart() { return start(); }
    bool isRunning() const;

    quint16 port() const { return m_port; }
    quint16 tlsPort() const { return m_tlsPort; }
    QString host() const { return QStringLiteral("127.0.0.1"); }
    QString caFile() const; // the CA that signed the server certificate
    QString otherCaFile() const; // a CA that did not
    QString dir() const { return m_dir.path(); }
    QString errorString() const { return m_error; }
    // A client connected to the plain listener, or nullptr after 5 s without a CONNACK.
    std::unique_ptr<nightlight::MqttClient> connectedClient() const;
    // Everything mosquitto logged since the last start(), including what it logged just now.
    QString log() const;

private:
    bool makeCertificates();
    bool makePasswordFile();
    bool writeConfig();
    bool run(const QString &program, const QStringList &args);

    Options m_options;
    QTemporaryDir m_dir;
    std::unique_ptr<QProcess> m_process;
    quint16 m_port = 0;
    quint16 m_tlsPort = 0;
    QString m_error;
    mutable QByteArray m_log; // read lazily by log()
};

// Runs mosquitto_pub (Debian's mosquitto-clients) against broker's plain listener with args
// ("-q", "1", "-t", topic, "-m"/"-f", ...), its output forwarded. True once it exited 0: for
// QoS 1 that is after the broker's PUBACK. Another process, so the copy of a huge payload it
// holds does not count against the test's memory.
bool mosquittoPub(const TestBroker &broker, const QStringList &args);
