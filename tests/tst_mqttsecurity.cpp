// MqttClient against a real mosquitto with TLS and a password file (TestBroker): the right CA
// and password connect; every wrong setting gives its own error, the Disconnected state and no
// retries; a TLS handshake that hangs never blocks the owner's thread.

#include "mqttclient.h"
#include "testbroker.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

#include <memory>

using nightlight::MqttClient;
using nightlight::MqttMessage;

namespace {

constexpr int TimeoutMs = 10000;
const QString User = QStringLiteral("nightlight");
const QString Password = QStringLiteral("s3cret pass");

qsizetype indexOf(const QSignalSpy &spy, const QString &topic)
{
    for (qsizetype i = 0; i < spy.size(); ++i) {
        if (spy.at(i).at(0).value<MqttMessage>().topic == topic)
            return i;
    }
    return -1;
}

} // namespace

class TestMqttSecurity : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void rightCaAndPasswordRoundTrip();
    void refusedSettings_data();
    void refusedSettings();
    void hangingTlsHandshakeDoesNotBlockOwner();

private:
    std::unique_ptr<MqttClient> makeClient(const QString &id);
    void roundTrip(const QString &id);

    TestBroker m_broker{TestBroker::Options{true, User, Password}};
};

void TestMqttSecurity::initTestCase()
{
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

std::unique_ptr<MqttClient> TestMqttSecurity::makeClient(const QString &id)
{
    auto client = std::make_unique<MqttClient>();
    client->setHost(m_broker.host());
    client->setPort(m_broker.tlsPort());
    client->setClientId(id);
    client->setTlsCaFile(m_broker.caFile());
    client->setUsername(User);
    client->setPassword(Password);
    client->setReconnectDelay(20, 100); // fast: a retry would show up quickly
    return client;
}

// Connects a good client over TLS and sends itself a message through the broker.
void TestMqttSecurity::roundTrip(const QString &id)
{
    auto client = makeClient(id);
    QSignalSpy connected(client.get(), &MqttClient::connected);
    QSignalSpy messages(client.get(), &MqttClient::messageReceived);
    client->connectToHost();
    QVERIFY2(connected.wait(TimeoutMs), qPrintable(client->errorString()));
    const QString topic = id + QStringLiteral("/echo");
    QVERIFY(client->subscribe(topic, 1));
    QVERIFY(client->publish(topic, "over TLS", 1));
    QTRY_VERIFY_WITH_TIMEOUT(indexOf(messages, topic) >= 0, TimeoutMs);
    QCOMPARE(messages.at(indexOf(messages, topic)).at(0).value<MqttMessage>().payload,
             QByteArray("over TLS"));
}

void TestMqttSecurity::rightCaAndPasswordRoundTrip()
{
    roundTrip(QStringLiteral("tst-sec-good"));
    if (QTest::currentTestFailed())
        return;
    QVERIFY(m_broker.log().contains(QStringLiteral("as tst-sec-good")));
}

void TestMqttSecurity::refusedSettings_data()
{
    QTest::addColumn<bool>("tls");
    QTest::addColumn<QString>("caFile"); // "right", "other", "missing"
    QTest::addColumn<QString>("username");
    QTest::addColumn<QString>("password");
    QTest::addColumn<MqttClient::Error>("expected");
    QTest::addColumn<QString>("expectedText");
    QTest::addColumn<bool>("reachesBroker");

    QTest::newRow("wrong password") << true << QStringLiteral("right") << User
                                    << QStringLiteral("wrong") << MqttClient::Error::BadCredentials
                                    << QStringLiteral("refused the user name or password") << true;
    QTest::newRow("unknown user") << false << QString() << QStringLiteral("nobody") << Password
                                  << MqttClient::Error::BadCredentials
                                  << QStringLiteral("refused the user name or password") << true;
    QTest::newRow("anonymous") << false << QString() << QString() << QString()
                               << MqttClient::Error::NotAuthorized
                               << QStringLiteral("refused an anonymous connection") << true;
    QTest::newRow("CA that did not sign the broker")
        << true << QStringLiteral("other") << User << Password
        << MqttClient::Error::TlsHandshakeFailed << QStringLiteral("TLS handshake with") << true;
    QTest::newRow("CA file missing")
        << true << QStringLiteral("missing") << User << Password << MqttClient::Error::TlsFileError
        << QStringLiteral("cannot read CA file") << false;
}

void TestMqttSecurity::refusedSettings()
{
    QFETCH(bool, tls);
    QFETCH(QString, caFile);
    QFETCH(QString, username);
    QFETCH(QString, password);
    QFETCH(MqttClient::Error, expected);
    QFETCH(QString, expectedText);
    QFETCH(bool, reachesBroker);
    const bool authRefused = expected == MqttClient::Error::BadCredentials ||
        expected == MqttClient::Error::NotAuthorized;

    const QString id = QStringLiteral("tst-sec-") +
        QString::fromLatin1(QTest::currentDataTag()).replace(u' ', u'-');
    auto client = makeClient(id);
    client->setPort(tls ? m_broker.tlsPort() : m_broker.port());
    if (caFile == QStringLiteral("right"))
        client->setTlsCaFile(m_broker.caFile());
    else if (caFile == QStringLiteral("other"))
        client->setTlsCaFile(m_broker.otherCaFile());
    else if (caFile == QStringLiteral("missing"))
        client->setTlsCaFile(m_broker.dir() + QStringLiteral("/no-such-ca.crt"));
    else
        client->setTlsCaFile(QString());
    client->setUsername(username);
    client->setPassword(password);
    client->setReconnectDelay(1, 1); // a wrong retry would happen at once

    QSignalSpy errors(client.get(), &MqttClient::errorOccurred);
    QSignalSpy states(client.get(), &MqttClient::stateChanged);
    const qsizetype logBefore = m_broker.log().size();
    client->connectToHost();
    QVERIFY(errors.wait(TimeoutMs));
    QCOMPARE(errors.at(0).at(0).value<MqttClient::Error>(), expected);
    const QString text = errors.at(0).at(1).toString();
    QVERIFY2(text.contains(expectedText), qPrintable(text));
    if (expected != MqttClient::Error::TlsFileError) {
        QVERIFY2(text.contains(QStringLiteral("127.0.0.1:")), qPrintable(text));
    }
    QCOMPARE(client->error(), expected);
    QCOMPARE(client->errorString(), text);
    QTRY_COMPARE_WITH_TIMEOUT(client->state(), MqttClient::State::Disconnected, TimeoutMs);
    QCOMPARE(states.last().at(0).value<MqttClient::State>(), MqttClient::State::Disconnected);
    QVERIFY(!client->isConnected());
    qInfo().noquote() << "error text:" << text;

    // Permanent: no retry. A later marker (a good client's whole TLS connect and round trip,
    // far longer than the 1 ms retry delay set above) passes without a second error or a second
    // attempt at the broker.
    roundTrip(id + QStringLiteral("-marker"));
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(errors.size(), 1);
    QCOMPARE(client->state(), MqttClient::State::Disconnected);
    // mosquitto logs "New connection from" once per TCP connection (the marker client made one),
    // or "Client connection from ... failed" when the TLS handshake fails while it accepts;
    // and, for a refused CONNECT, "Client <unknown> disconnected, not authorised." once.
    // (QTRY: the log reaches us through a pipe; a count that is too high fails all the same.)
    const auto connections = [&] {
        const QString log = m_broker.log().mid(logBefore);
        return log.count(QStringLiteral("New connection from")) +
            log.count(QStringLiteral("Client connection from")) - 1;
    };
    const auto refusals = [&] {
        return m_broker.log().mid(logBefore).count(QStringLiteral("disconnected, not authorised"));
    };
    QTRY_VERIFY2_WITH_TIMEOUT(connections() == (reachesBroker ? 1 : 0) &&
                                  refusals() == (authRefused ? 1 : 0),
                              qPrintable(QStringLiteral("%1 connections, %2 refusals in the log:\n")
                                             .arg(connections())
                                             .arg(refusals()) +
                                         m_broker.log().mid(logBefore)),
                              2000);
}

void TestMqttSecurity::hangingTlsHandshakeDoesNotBlockOwner()
{
    // A server that accepts TCP connections and never answers the TLS ClientHello.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
    auto client = makeClient(QStringLiteral("tst-sec-silent"));
    client->setPort(silent.serverPort());

    QTimer timer;
    QElapsedTimer sinceTick;
    qint64 maxGapMs = 0;
    int ticks = 0;
    timer.setInterval(10);
    connect(&timer, &QTimer::timeout, this, [&] {
        maxGapMs = std::max(maxGapMs, sinceTick.restart());
        ++ticks;
    });
    sinceTick.start();
    timer.start();

    client->connectToHost();
    QVERIFY(silent.waitForNewConnection(TimeoutMs)); // the worker is now in the handshake
    std::unique_ptr<QTcpSocket> peer(silent.nextPendingConnection());
    QVERIFY(peer);
    // 30 ticks of the owner's 10 ms timer while the handshake hangs on the worker thread.
    const int ticksBefore = ticks;
    QTRY_VERIFY_WITH_TIMEOUT(ticks >= ticksBefore + 30, TimeoutMs);
    QCOMPARE(client->state(), MqttClient::State::Connecting);
    QVERIFY2(maxGapMs < 100, qPrintable(QString::number(maxGapMs)));

    // The server gives up: the client reports an error and can be destroyed without hanging.
    QSignalSpy errors(client.get(), &MqttClient::errorOccurred);
    peer->abort();
    silent.close();
    QVERIFY(errors.wait(TimeoutMs));
    qInfo().noquote() << "error text:" << errors.at(0).at(1).toString();
}

QTEST_GUILESS_MAIN(TestMqttSecurity)
#include "tst_mqttsecurity.moc"
