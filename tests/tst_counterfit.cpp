// CounterFitLightSensor and CounterFitLed against a small CounterFit stand-in served from inside
// the test (QTcpServer on 127.0.0.1, a few lines of hand-parsed HTTP/1.1: a fixture, not product
// code). It answers /connect, /sensor_value and /actuator_value as the real app does (see
// ../shared/peers/counterfit/UPSTREAM.md), records every request, and can answer slowly, never,
// with an error, or go down and come back.

#include "counterfitled.h"
#include "counterfitlightsensor.h"

#include <QElapsedTimer>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QPointer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>
#include <QUrlQuery>

#include <map>

using namespace nightlight;

namespace {

struct HttpRequest
{
    QByteArray method;
    QByteArray path;
    QUrlQuery query;
    QByteArray contentType;
    QByteArray body;
};

struct Route
{
    int status = 200;
    QByteArray body = "OK";
    QByteArray extraHeaders; // "Name: value\r\n"...
    bool hold = false; // record the request but do not answer until release()
};

class FakeCounterFit : public QObject
{
    Q_OBJECT
public:
    FakeCounterFit()
    {
        connect(&m_server, &QTcpServer::newConnection, this, &FakeCounterFit::onNewConnection);
        m_routes["/connect"] = Route();
        m_routes["/actuator_value"] = Route();
        m_routes["/sensor_value"] = Route{200, "{\"value\": 0}", {}, false};
    }

    // On 127.0.0.1, at `port` or (0) a free one.
    bool listen(quint16 port = 0)
    {
        if (!m_server.listen(QHostAddress::LocalHost, port)) {
            return false;
        }
        m_port = m_server.serverPort();
        return true;
    }
    // Stops listening and drops every open connection: "CounterFit was stopped".
    void stop()
    {
        m_server.close();
        const auto sockets = m_sockets;
        for (QTcpSocket *socket : sockets) {
            if (socket) {
                socket->abort();
            }
        }
    }
    quint16 port() const { return m_port; }
    QUrl url() const { return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_port)); }
    Route &route(const QByteArray &path) { return m_routes[path]; }

    // Answers every held request now, as its route says (with hold switched off first).
    void release()
    {
        const auto held = std::exchange(m_held, {});
        for (const auto &[socket, path] : held) {
            if (socket) {
                respond(socket, m_routes[path]);
            }
        }
    }
    int heldCount() const { return static_cast<int>(m_held.size()); }

    QList<HttpRequest> requests;
    QList<HttpRequest> requestsTo(const QByteArray &path) const
    {
        QList<HttpRequest> result;
        for (const HttpRequest &request : requests) {
            if (request.path == path) {
                result << request;
            }
        }
        return result;
    }
    QList<QByteArray> paths() const
    {
        QList<QByteArray> result;
        for (const HttpRequest &request : requests) {
            result << request.method + ' ' + request.path;
        }
        return result;
    }

signals:
    void requestReceived();

private:
    void onNewConnection()
    {
        while (QTcpSocket *socket = m_server.nextPendingConnection()) {
            m_sockets << socket;
            connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
            connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        }
    }

    void onReadyRead(QTcpSocket *socket)
    {
        QByteArray &buffer = m_buffers[socket];
        buffer += socket->readAll();
        const qsizetype headerEnd = buffer.indexOf("\r\n\r\n");
        if (headerEnd < 0) {
            return;
        }
        const QList<QByteArray> lines = buffer.left(headerEnd).split('\n');
        const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
        HttpRequest request;
        request.method = requestLine.value(0);
        const QByteArray target = requestLine.value(1);
        const qsizetype question = target.indexOf('?');
        request.path = question < 0 ? target : target.left(question);
        if (question >= 0) {
            request.query = QUrlQuery(QString::fromLatin1(target.mid(question + 1)));
        }
        qsizetype contentLength = 0;
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QByteArray line = lines.at(i).trimmed();
            const qsizetype colon = line.indexOf(':');
            const QByteArray name = line.left(colon).trimmed().toLower();
            const QByteArray value = line.mid(colon + 1).trimmed();
            if (name == "content-length") {
                contentLength = value.toLongLong();
            } else if (name == "content-type") {
                request.contentType = value;
            }
        }
        if (buffer.size() < headerEnd + 4 + contentLength) {
            return; // the body is still coming
        }
        request.body = buffer.mid(headerEnd + 4, contentLength);
        m_buffers.remove(socket);
        requests << request;

        const Route route = m_routes.count(request.path) ? m_routes[request.path]
                                                         : Route{404, "Not Found", {}, false};
        if (route.hold) {
            m_held.emplace_back(QPointer<QTcpSocket>(socket), request.path);
        } else {
            respond(socket, route);
        }
        emit requestReceived();
    }

    static void respond(QTcpSocket *socket, const Route &route)
    {
        QByteArray response = "HTTP/1.1 " + QByteArray::number(route.status) + " Status\r\n" +
            "Content-Type: text/html; charset=utf-8\r\n" +
            "Content-Length: " + QByteArray::number(route.body.size()) + "\r\n" +
            route.extraHeaders + "Connection: close\r\n\r\n" + route.body;
        socket->write(response);
        socket->disconnectFromHost();
    }

    QTcpServer m_server;
    quint16 m_port = 0;
    std::map<QByteArray, Route> m_routes;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    QList<QPointer<QTcpSocket>> m_sockets;
    std::vector<std::pair<QPointer<QTcpSocket>, QByteArray>> m_held;
};

// Measures the longest gap between the ticks of a 10 ms timer: a blocked event loop shows up
// as a long gap.
class GapMeter : public QObject
{
public:
    GapMeter()
    {
        m_timer.setInterval(10);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            const qint64 now = m_clock.elapsed();
            m_longest = qMax(m_longest, now - m_last);
            m_last = now;
            ++m_ticks;
        });
        m_clock.start();
        m_timer.start();
    }
    qint64 longestGapMs() const { return m_longest; }
    int ticks() const { return m_ticks; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    qint64 m_longest = 0;
    int m_ticks = 0;
};

QJsonObject jsonBody(const HttpRequest &request)
{
    return QJsonDocument::fromJson(request.body).object();
}

constexpr int ShortTimeoutMs = 300;
constexpr int WaitMs = 5000;

} // namespace

class TestCounterFit : public QObject
{
    Q_OBJECT

private slots:
    void neverUsesAProxy();

    // CounterFitLightSensor
    void sensorReadsValue_data();
    void sensorReadsValue();
    void sensorConnectsOnce();
    void sensorIgnoresRequestWhileBusy();
    void sensorTimesOutWithoutStalling_data();
    void sensorTimesOutWithoutStalling();
    void sensorRecoversWhenServerComesBack();
    void sensorDoesNotFollowRedirectElsewhere();
    void sensorDestroyedWhileBusy();

    // CounterFitLed
    void ledPostsJson_data();
    void ledPostsJson();
    void ledSkipsConfirmedValue();
    void ledSendsOnlyLatestAfterInFlight();
    void ledReportsFailureAndRetries();
    void ledReportsHttpError();
    void ledTimesOutWithoutStalling();
};

void TestCounterFit::neverUsesAProxy()
{
    // Qt itself bypasses proxies for loopback hosts, so this cannot be seen from a loopback
    // server; it matters for a CounterFit on another machine of the LAN, which an http_proxy
    // (through QNetworkProxyFactory::setUseSystemConfiguration) would otherwise route elsewhere.
    QNetworkProxy::setApplicationProxy(
        QNetworkProxy(QNetworkProxy::HttpProxy, QStringLiteral("127.0.0.1"), 9));
    const QUrl lanUrl(QStringLiteral("http://192.0.2.10:5000"));
    CounterFitLightSensor sensor(lanUrl, 0);
    CounterFitLed led(lanUrl, 5);
    for (QObject *object : {static_cast<QObject *>(&sensor), static_cast<QObject *>(&led)}) {
        const auto managers = object->findChildren<QNetworkAccessManager *>();
        QCOMPARE(managers.size(), 1);
        QCOMPARE(managers.first()->proxy().type(), QNetworkProxy::NoProxy);
    }
    QNetworkProxy::setApplicationProxy(QNetworkProxy(QNetworkProxy::NoProxy));
}

void TestCounterFit::sensorReadsValue_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<double>("value");
    QTest::addColumn<QString>("messagePart");

    QTest::newRow("value 412") << 200 << QByteArray("{\"value\": 412}") << true << 412.0
                               << QString();
    QTest::newRow("value 0, dark")
        << 200 << QByteArray("{\"value\": 0}") << true << 0.0 << QString();
    QTest::newRow("value 1023, brightest")
        << 200 << QByteArray("{\"value\": 1023}") << true << 1023.0 << QString();
    QTest::newRow("float value") << 200 << QByteArray("{\"value\": 12.5}") << true << 12.5
                                 << QString();
    QTest::newRow("value is a string") << 200 << QByteArray("{\"value\": \"x\"}") << false << 0.0
                                       << QStringLiteral("\"value\" is missing or not a number");
    QTest::newRow("value is null") << 200 << QByteArray("{\"value\": null}") << false << 0.0
                                   << QStringLiteral("\"value\" is missing or not a number");
    QTest::newRow("value missing") << 200 << QByteArray("{\"other\": 3}") << false << 0.0
                                   << QStringLiteral("\"value\" is missing or not a number");
    QTest::newRow("not JSON") << 200 << QByteArray("<html>hello</html>") << false << 0.0
                              << QStringLiteral("not JSON");
    QTest::newRow("empty body") << 200 << QByteArray() << false << 0.0
                                << QStringLiteral("not JSON");
    QTest::newRow("JSON array") << 200 << QByteArray("[412]") << false << 0.0
                                << QStringLiteral("not a JSON object");
    QTest::newRow("huge body") << 200 << QByteArray(100000, ' ') << false << 0.0
                               << QStringLiteral("longer than 4096 bytes");
    QTest::newRow("404 no sensor on the pin")
        << 404 << QByteArray("Sensor with port 0 not found") << false << 0.0
        << QStringLiteral("answered HTTP 404 to /sensor_value?port=0: Sensor with port 0 not "
                          "found (create a Light sensor on pin 0");
    QTest::newRow("500 server error") << 500 << QByteArray("Internal Server Error") << false << 0.0
                                      << QStringLiteral("answered HTTP 500");
}

void TestCounterFit::sensorReadsValue()
{
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(bool, ok);
    QFETCH(double, value);
    QFETCH(QString, messagePart);

    FakeCounterFit server;
    QVERIFY(server.listen());
    server.route("/sensor_value") = Route{status, body, {}, false};

    CounterFitLightSensor sensor(server.url(), 0);
    QCOMPARE(sensor.backendName(), QStringLiteral("counterfit"));
    QSignalSpy ready(&sensor, &LightSensor::readingReady);
    QSignalSpy failed(&sensor, &LightSensor::readingFailed);
    sensor.requestReading();
    QVERIFY(sensor.isBusy()); // asynchronous: nothing answered yet
    QVERIFY(ready.isEmpty() && failed.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(ready.size() + failed.size() == 1, WaitMs);
    QVERIFY(!sensor.isBusy());

    if (ok) {
        QCOMPARE(ready.first().first().toDouble(), value);
    } else {
        const QString message = failed.first().first().toString();
        QVERIFY2(message.contains(messagePart), qPrintable(message));
        QVERIFY2(message.contains(server.url().toString()), qPrintable(message));
    }
    QCOMPARE(server.paths(), (QList<QByteArray>{"POST /connect", "GET /sensor_value"}));
    QCOMPARE(server.requests.at(1).query.queryItemValue(QStringLiteral("port")),
             QStringLiteral("0"));
}

void TestCounterFit::sensorConnectsOnce()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    server.route("/sensor_value").body = "{\"value\": 77}";

    CounterFitLightSensor sensor(server.url(), 3);
    QSignalSpy ready(&sensor, &LightSensor::readingReady);
    for (int i = 1; i <= 3; ++i) {
        sensor.requestReading();
        QVERIFY(ready.wait(WaitMs));
        QCOMPARE(ready.size(), i);
    }
    QCOMPARE(server.requestsTo("/connect").size(), 1);
    QCOMPARE(server.requestsTo("/sensor_value").size(), 3);
    QCOMPARE(server.requests.first().method, QByteArray("POST"));
    QCOMPARE(server.requests.last().query.queryItemValue(QStringLiteral("port")),
             QStringLiteral("3"));
    QCOMPARE(ready.last().first().toDouble(), 77.0);
}

void TestCounterFit::sensorIgnoresRequestWhileBusy()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    server.route("/sensor_value") = Route{200, "{\"value\": 5}", {}, true};

    CounterFitLightSensor sensor(server.url(), 0);
    QSignalSpy ready(&sensor, &LightSensor::readingReady);
    QSignalSpy received(&server, &FakeCounterFit::requestReceived);
    sensor.requestReading();
    QTRY_COMPARE_WITH_TIMEOUT(server.heldCount(), 1, WaitMs);
    QVERIFY(sensor.isBusy());
    sensor.requestReading(); // the rule's next tick: skipped, no second request
    sensor.requestReading();
    server.route("/sensor_value").hold = false;
    server.release();
    QVERIFY(ready.wait(WaitMs));
    QCOMPARE(ready.size(), 1);
    QCOMPARE(server.requestsTo("/sensor_value").size(), 1);
}

void TestCounterFit::sensorTimesOutWithoutStalling_data()
{
    QTest::addColumn<QByteArray>("heldRoute");
    QTest::newRow("never answers /sensor_value") << QByteArray("/sensor_value");
    QTest::newRow("never answers /connect") << QByteArray("/connect");
}

void TestCounterFit::sensorTimesOutWithoutStalling()
{
    QFETCH(QByteArray, heldRoute);

    FakeCounterFit server;
    QVERIFY(server.listen());
    server.route(heldRoute).hold = true;

    CounterFitLightSensor sensor(server.url(), 0);
    sensor.setTimeout(ShortTimeoutMs);
    QSignalSpy ready(&sensor, &LightSensor::readingReady);
    QSignalSpy failed(&sensor, &LightSensor::readingFailed);

    GapMeter meter;
    QElapsedTimer clock;
    clock.start();
    sensor.requestReading();
    QVERIFY(failed.wait(WaitMs));
    const qint64 elapsed = clock.elapsed();

    QCOMPARE(ready.size(), 0);
    const QString message = failed.first().first().toString();
    QVERIFY2(message.startsWith(QStringLiteral("CounterFit at %1 did not answer: no answer within "
                                               "300 ms")
                                    .arg(server.url().toString())),
             qPrintable(message));
    QVERIFY2(elapsed >= ShortTimeoutMs - 20, qPrintable(QString::number(elapsed)));
    QVERIFY2(elapsed < ShortTimeoutMs + 1500, qPrintable(QString::number(elapsed)));
    QVERIFY(!sensor.isBusy());
    // The loop kept running while the request hung.
    QVERIFY2(meter.longestGapMs() < 100, qPrintable(QString::number(meter.longestGapMs())));
    QVERIFY(meter.ticks() >= 10);

    // The server answers again: the next reading reconnects and succeeds.
    server.route(heldRoute).hold = false;
    server.route("/sensor_value").body = "{\"value\": 9}";
    server.release();
    sensor.requestReading();
    QVERIFY(ready.wait(WaitMs));
    QCOMPARE(ready.first().first().toDouble(), 9.0);
    // After a failure the sensor connects again before reading.
    QCOMPARE(server.requestsTo("/connect").size(), 2);
}

void TestCounterFit::sensorRecoversWhenServerComesBack()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    const quint16 port = server.port();
    server.route("/sensor_value").body = "{\"value\": 100}";

    CounterFitLightSensor sensor(server.url(), 0);
    QSignalSpy ready(&sensor, &LightSensor::readingReady);
    QSignalSpy failed(&sensor, &LightSensor::readingFailed);
    sensor.requestReading();
    QVERIFY(ready.wait(WaitMs));

    server.stop(); // CounterFit stopped
    sensor.requestReading();
    QVERIFY(failed.wait(WaitMs));
    const QString message = failed.first().first().toString();
    QVERIFY2(message.startsWith(
                 QStringLiteral("CounterFit at http://127.0.0.1:%1 did not answer: ").arg(port)),
             qPrintable(message));
    // Down, it keeps failing (one answer per request, no crash).
    sensor.requestReading();
    QVERIFY(failed.wait(WaitMs));
    QCOMPARE(failed.size(), 2);

    if (!server.listen(port)) {
        QSKIP("another process took the port while the server was down");
    }
    server.requests.clear();
    server.route("/sensor_value").body = "{\"value\": 200}";
    sensor.requestReading();
    QVERIFY(ready.wait(WaitMs));
    QCOMPARE(ready.last().first().toDouble(), 200.0);
    // It connected again before reading.
    QCOMPARE(server.paths(), (QList<QByteArray>{"POST /connect", "GET /sensor_value"}));
}

void TestCounterFit::sensorDoesNotFollowRedirectElsewhere()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    FakeCounterFit elsewhere; // another origin (other port) that would answer nicely
    QVERIFY(elsewhere.listen());
    elsewhere.route("/sensor_value").body = "{\"value\": 666}";
    server.route("/sensor_value") = Route{
        302, "", "Location: " + elsewhere.url().toEncoded() + "/sensor_value?port=0\r\n", false};

    CounterFitLightSensor sensor(server.url(), 0);
    QSignalSpy ready(&sensor, &LightSensor::readingReady);
    QSignalSpy failed(&sensor, &LightSensor::readingFailed);
    sensor.requestReading();
    QTRY_VERIFY_WITH_TIMEOUT(ready.size() + failed.size() == 1, WaitMs);
    QCOMPARE(ready.size(), 0);
    QVERIFY(elsewhere.requests.isEmpty());
}

void TestCounterFit::sensorDestroyedWhileBusy()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    server.route("/sensor_value").hold = true;

    auto sensor = std::make_unique<CounterFitLightSensor>(server.url(), 0);
    sensor->requestReading();
    QTRY_COMPARE_WITH_TIMEOUT(server.heldCount(), 1, WaitMs);
    QVERIFY(sensor->isBusy());
    sensor.reset(); // must neither crash nor emit into a dead object
    server.route("/sensor_value").hold = false;
    server.release();
    QCoreApplication::processEvents();
    QVERIFY(!sensor);
}

void TestCounterFit::ledPostsJson_data()
{
    QTest::addColumn<int>("pin");
    QTest::addColumn<bool>("on");
    QTest::newRow("on, pin 5") << 5 << true;
    QTest::newRow("off after on, pin 5") << 5 << false;
    QTest::newRow("on, pin 12") << 12 << true;
}

void TestCounterFit::ledPostsJson()
{
    QFETCH(int, pin);
    QFETCH(bool, on);

    FakeCounterFit server;
    QVERIFY(server.listen());
    CounterFitLed led(server.url(), pin);
    QCOMPARE(led.backendName(), QStringLiteral("counterfit"));
    QSignalSpy confirmed(&led, &CounterFitLed::confirmed);
    QSignalSpy failed(&led, &Led::failed);

    if (!on) {
        led.setOn(true);
        QVERIFY(confirmed.wait(WaitMs));
    }
    led.setOn(on);
    QCOMPARE(led.isOn(), on); // what the device wants, at once
    QTRY_COMPARE_WITH_TIMEOUT(confirmed.size(), on ? 1 : 2, WaitMs);
    QCOMPARE(confirmed.last().first().toBool(), on);
    QCOMPARE(failed.size(), 0);

    const auto posts = server.requestsTo("/actuator_value");
    QVERIFY(!posts.isEmpty());
    const HttpRequest &last = posts.last();
    QCOMPARE(last.method, QByteArray("POST"));
    QCOMPARE(last.query.queryItemValue(QStringLiteral("port")), QString::number(pin));
    QCOMPARE(last.contentType, QByteArray("application/json"));
    QCOMPARE(jsonBody(last), (QJsonObject{{QStringLiteral("value"), on}}));
    QCOMPARE(server.requests.first().path, QByteArray("/connect"));
    QCOMPARE(server.requestsTo("/connect").size(), 1);
}

void TestCounterFit::ledSkipsConfirmedValue()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    CounterFitLed led(server.url(), 5);
    QSignalSpy confirmed(&led, &CounterFitLed::confirmed);
    led.setOn(true);
    QVERIFY(confirmed.wait(WaitMs));
    // The rule may say "on" every tick: CounterFit already shows it, nothing is sent.
    led.setOn(true);
    led.setOn(true);
    QVERIFY(!led.isBusy());
    QCOMPARE(server.requestsTo("/actuator_value").size(), 1);
}

void TestCounterFit::ledSendsOnlyLatestAfterInFlight()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    server.route("/actuator_value").hold = true;
    CounterFitLed led(server.url(), 5);
    QSignalSpy confirmed(&led, &CounterFitLed::confirmed);

    led.setOn(true);
    QTRY_COMPARE_WITH_TIMEOUT(server.heldCount(), 1, WaitMs);
    QVERIFY(led.isBusy());
    led.setOn(false);
    led.setOn(true);
    led.setOn(false); // the latest: only this one follows
    QCOMPARE(led.isOn(), false);
    QCOMPARE(server.heldCount(), 1);

    server.route("/actuator_value").hold = false;
    server.release();
    QTRY_COMPARE_WITH_TIMEOUT(confirmed.size(), 2, WaitMs);
    QCOMPARE(confirmed.at(0).first().toBool(), true);
    QCOMPARE(confirmed.at(1).first().toBool(), false);
    const auto posts = server.requestsTo("/actuator_value");
    QCOMPARE(posts.size(), 2);
    QCOMPARE(jsonBody(posts.at(0)).value(QStringLiteral("value")).toBool(), true);
    QCOMPARE(jsonBody(posts.at(1)).value(QStringLiteral("value")).toBool(), false);
    QVERIFY(!led.isBusy());
}

void TestCounterFit::ledReportsFailureAndRetries()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    const quint16 port = server.port();
    server.stop();

    CounterFitLed led(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), 5);
    QSignalSpy confirmed(&led, &CounterFitLed::confirmed);
    QSignalSpy failed(&led, &Led::failed);
    led.setOn(true);
    QVERIFY(failed.wait(WaitMs));
    const QString message = failed.first().first().toString();
    QVERIFY2(message.startsWith(
                 QStringLiteral("CounterFit at http://127.0.0.1:%1 did not answer: ").arg(port)),
             qPrintable(message));
    QCOMPARE(led.isOn(), true); // still what the device wants
    QVERIFY(!led.isBusy()); // and no retry loop of its own

    if (!server.listen(port)) {
        QSKIP("another process took the port while the server was down");
    }
    led.setOn(true); // the same value again: sent, since it was never confirmed
    QVERIFY(confirmed.wait(WaitMs));
    QCOMPARE(server.paths(), (QList<QByteArray>{"POST /connect", "POST /actuator_value"}));
}

void TestCounterFit::ledReportsHttpError()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    server.route("/actuator_value") = Route{400, "Bad Request", {}, false};
    CounterFitLed led(server.url(), 5);
    QSignalSpy failed(&led, &Led::failed);
    led.setOn(true);
    QVERIFY(failed.wait(WaitMs));
    const QString message = failed.first().first().toString();
    QVERIFY2(message.contains(QStringLiteral("answered HTTP 400 to /actuator_value?port=5")),
             qPrintable(message));
}

void TestCounterFit::ledTimesOutWithoutStalling()
{
    FakeCounterFit server;
    QVERIFY(server.listen());
    server.route("/actuator_value").hold = true;
    CounterFitLed led(server.url(), 5);
    led.setTimeout(ShortTimeoutMs);
    QSignalSpy failed(&led, &Led::failed);

    GapMeter meter;
    led.setOn(true);
    QVERIFY(failed.wait(WaitMs));
    const QString message = failed.first().first().toString();
    QVERIFY2(message.endsWith(QStringLiteral("did not answer: no answer within 300 ms")),
             qPrintable(message));
    QVERIFY2(meter.longestGapMs() < 100, qPrintable(QString::number(meter.longestGapMs())));
    QVERIFY(!led.isBusy());
}

QTEST_GUILESS_MAIN(TestCounterFit)
#include "tst_counterfit.moc"
