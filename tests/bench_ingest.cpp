// bench_ingest: the telemetry rate the dashboard pipeline (MqttClient -> DeviceHub decode ->
// TelemetryStore (SQLite file) -> LightChart repaint) sustains without stalling the event loop,
// beside a bare libmosquitto subscriber (its own thread, only counting) on the same broker in
// the same run. A libmosquitto publisher thread sends {"light": n, "ts": ms} at each step's rate
// for a few seconds; a 5 ms QTimer on the GUI thread records the longest gap between its ticks.
// A step is sustained when the dashboard received >= 99.5% of what was sent and the longest
// gap stayed <= 50 ms. Prints a markdown table. Run: scripts/bench-ingest.sh

#include "devicehub.h"
#include "lightchart.h"
#include "mainwindow.h"
#include "mqttclient.h"
#include "protocol.h"
#include "telemetrystore.h"
#include "testbroker.h"

#include <QApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include <mosquitto.h>
#include <time.h>

using namespace nightlight;

namespace {

struct MosqDeleter
{
    void operator()(mosquitto *m) const { mosquitto_destroy(m); }
};
using Mosq = std::unique_ptr<mosquitto, MosqDeleter>;

// CPU time this thread has used, in microseconds: a wall-clock gap with little CPU used in it
// means the thread was not scheduled (a busy machine), not that our code stalled the loop.
qint64 threadCpuUs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return qint64(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

Mosq connectRaw(const TestBroker &broker, std::atomic<qint64> *counter)
{
    Mosq m(mosquitto_new(nullptr, true, counter));
    if (!m)
        return nullptr;
    mosquitto_int_option(m.get(), MOSQ_OPT_TCP_NODELAY, 1);
    if (counter) {
        mosquitto_message_callback_set(
            m.get(), [](mosquitto *, void *obj, const mosquitto_message *) {
                static_cast<std::atomic<qint64> *>(obj)->fetch_add(1, std::memory_order_relaxed);
            });
        mosquitto_connect_callback_set(m.get(), [](mosquitto *mosq, void *, int rc) {
            if (rc == 0)
                mosquitto_subscribe(mosq, nullptr, "+/telemetry", 0);
        });
    }
    if (mosquitto_connect(m.get(), broker.host().toUtf8().constData(), broker.port(), 30) !=
        MOSQ_ERR_SUCCESS)
        return nullptr;
    if (mosquitto_loop_start(m.get()) != MOSQ_ERR_SUCCESS)
        return nullptr;
    return m;
}

struct StepResult
{
    int rate = 0;
    qint64 sent = 0;
    double achieved = 0; // msg/s the publisher really managed
    qint64 bare = 0;
    qint64 dashboard = 0;
    qint64 maxGapMs = 0; // longest wall-clock gap between 5 ms ticks
    qint64 maxBusyMs = 0; // most GUI-thread CPU time used within one gap
    bool sustained() const { return dashboard * 1000 >= sent * 995 && maxBusyMs <= 50; }
    bool bareSustained() const { return bare * 1000 >= sent * 995; }
};

} // namespace

int main(int argc, char *argv[])
{
    qputenv("QT_QPA_PLATFORM", QByteArrayLiteral("offscreen"));
    QApplication app(argc, argv);
    QLoggingCategory::setFilterRules(QStringLiteral("nightlight.*.debug=false"));
    const QStringList args = app.arguments();
    const int seconds = args.size() > 1 ? args.at(1).toInt() : 3;
    QList<int> rates = {0, 500, 1000, 2000, 5000, 10000, 20000, 40000};
    if (args.size() > 2) {
        rates.clear();
        for (const QString &r : args.mid(2))
            rates << r.toInt();
    }

    mosquitto_lib_init();
    TestBroker broker;
    if (!broker.start()) {
        std::fprintf(stderr, "bench_ingest: %s\n", qPrintable(broker.errorString()));
        return 1;
    }
    QTemporaryDir dir;

    // The dashboard pipeline, as MainWindow wires it.
    MqttClient client;
    client.setHost(broker.host());
    client.setPort(broker.port());
    DeviceHub hub(&client);
    TelemetryStore store;
    // NIGHTLIGHT_BENCH_NO_DB=1: in memory only, to tell SQLite's share of a stall.
    const bool useDb = qEnvironmentVariableIntValue("NIGHTLIGHT_BENCH_NO_DB") == 0;
    if (useDb)
        store.open(dir.filePath(QStringLiteral("telemetry.sqlite")));
    // As MainWindow: smaller write batches keep each SQLite transaction short.
    if (qEnvironmentVariableIsSet("NIGHTLIGHT_BENCH_FLUSH_BATCH"))
        store.setFlushBatchSize(qEnvironmentVariableIntValue("NIGHTLIGHT_BENCH_FLUSH_BATCH"));
    else
        store.setFlushBatchSize(MainWindow::FlushBatchSize);
    LightChart chart;
    chart.setStore(&store);
    chart.setDevice(QStringLiteral("bench"));
    chart.setWindow(LightChart::WindowOneMinute);
    chart.resize(1200, 400);
    chart.show();
    qint64 dashboardCount = 0;
    QObject::connect(&hub, &DeviceHub::telemetryReceived,
                     [&](const QString &id, const Telemetry &t, qint64 receivedMs) {
                         store.append(id, t.ts.value_or(receivedMs), t.light);
                         ++dashboardCount;
                     });
    QSignalSpy up(&client, &MqttClient::connected);
    client.connectToHost();
    hub.startDiscovery();
    if (!up.wait(5000)) {
        std::fprintf(stderr, "bench_ingest: dashboard client did not connect\n");
        return 1;
    }

    std::atomic<qint64> bareCount{0};
    Mosq bare = connectRaw(broker, &bareCount);
    Mosq publisher = connectRaw(broker, nullptr);
    if (!bare || !publisher) {
        std::fprintf(stderr, "bench_ingest: libmosquitto clients did not connect\n");
        return 1;
    }

    // Event-loop stall meter: the longest gap between 5 ms ticks.
    QElapsedTimer tickClock;
    qint64 lastTick = 0;
    qint64 maxGap = 0;
    qint64 lastCpu = threadCpuUs();
    qint64 maxBusy = 0;
    QTimer ticker;
    ticker.setTimerType(Qt::PreciseTimer);
    ticker.setInterval(5);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        const qint64 now = tickClock.elapsed();
        const qint64 cpu = threadCpuUs();
        maxGap = std::max(maxGap, now - lastTick);
        maxBusy = std::max(maxBusy, cpu - lastCpu);
        lastTick = now;
        lastCpu = cpu;
    });
    tickClock.start();
    ticker.start();

    // Let both subscriptions settle.
    QElapsedTimer settle;
    settle.start();
    while (settle.elapsed() < 500)
        app.processEvents(QEventLoop::AllEvents, 50);

    QList<StepResult> results;
    for (int rate : rates) {
        StepResult r;
        r.rate = rate;
        const qint64 bareBefore = bareCount.load();
        const qint64 dashBefore = dashboardCount;
        std::atomic<qint64> sent{0};
        std::atomic<qint64> publishUs{0};
        std::atomic<bool> done{false};
        std::thread pub([&] {
            using clock = std::chrono::steady_clock;
            const auto start = clock::now();
            const qint64 total = qint64(rate) * seconds;
            if (total == 0) // rate 0: the idle baseline of the stall meter (machine noise)
                std::this_thread::sleep_for(std::chrono::seconds(seconds));
            qint64 n = 0;
            while (n < total) {
                const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
                const qint64 due = std::min<qint64>(total, qint64(elapsed * rate) + 1);
                for (; n < due; ++n) {
                    const QByteArray payload =
                        encodeTelemetry({double(n % 1000), QDateTime::currentMSecsSinceEpoch()});
                    mosquitto_publish(publisher.get(), nullptr, "bench/telemetry",
                                      int(payload.size()), payload.constData(), 0, false);
                }
                std::this_thread::sleep_for(std::chrono::microseconds(500));
            }
            sent = n;
            publishUs =
                std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start).count();
            done = true;
        });
        maxGap = 0;
        maxBusy = 0;
        lastTick = tickClock.elapsed();
        lastCpu = threadCpuUs();
        // Run the GUI loop while publishing, then until both counts settle (at most 3 s more).
        QElapsedTimer quiet;
        qint64 lastSeen = -1;
        while (true) {
            app.processEvents(QEventLoop::AllEvents, 5);
            if (!done)
                continue;
            const qint64 seen = (dashboardCount - dashBefore) + (bareCount.load() - bareBefore);
            if (seen != lastSeen) {
                lastSeen = seen;
                quiet.start();
            }
            if (seen >= 2 * sent || quiet.elapsed() > 1000)
                break;
        }
        pub.join();
        r.sent = sent;
        r.achieved = publishUs > 0 ? r.sent * 1e6 / publishUs : 0;
        r.bare = bareCount.load() - bareBefore;
        r.dashboard = dashboardCount - dashBefore;
        r.maxGapMs = maxGap;
        r.maxBusyMs = maxBusy / 1000;
        results << r;
        std::fprintf(stderr, "rate %d: sent %lld bare %lld dashboard %lld gap %lld ms\n", rate,
                     qint64(r.sent), qint64(r.bare), qint64(r.dashboard), qint64(r.maxGapMs));
        if (r.bare * 2 < r.sent)
            break; // the broker/loopback itself is saturated: higher steps say nothing
    }

    std::printf("| rate (msg/s) | achieved (msg/s) | sent | bare libmosquitto | dashboard | max "
                "loop gap, wall (ms) | "
                "max loop gap, GUI-thread CPU (ms) | dashboard sustained |\n"
                "|---:|---:|---:|---:|---:|---:|---:|:---:|\n");
    int bestDashboard = 0;
    int bestBare = 0;
    for (const StepResult &r : results) {
        std::printf("| %d | %.0f | %lld | %lld | %lld | %lld | %lld | %s |\n", r.rate, r.achieved,
                    qint64(r.sent), qint64(r.bare), qint64(r.dashboard), qint64(r.maxGapMs),
                    qint64(r.maxBusyMs), r.sustained() ? "yes" : "no");
        // Rates as achieved by the publisher, which tops out below the highest steps.
        if (r.rate > 0 && r.sustained())
            bestDashboard = std::max(bestDashboard, int(r.achieved));
        if (r.rate > 0 && r.bareSustained())
            bestBare = std::max(bestBare, int(r.achieved));
    }
    std::printf("\nHighest sustained rate: dashboard %d msg/s, bare libmosquitto %d msg/s "
                "(ratio %.2f; target >= 0.8). %d s per step, chart 1200x400 offscreen, "
                "store %s, %lld samples stored.\n",
                bestDashboard, bestBare, bestBare ? double(bestDashboard) / bestBare : 0.0, seconds,
                useDb ? "in SQLite" : "in memory only",
                qint64(store.size(QStringLiteral("bench"))));
    publisher.reset();
    bare.reset();
    mosquitto_lib_cleanup();
    return 0;
}
