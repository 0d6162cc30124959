// bench_classview: the class view's frame (#10): 100 devices, every tile repainted, the whole
// 1920x1080 view rendered into a QImage, beside the detail chart's full redraw on the same
// store. Not a test: prints a markdown table. Run through scripts/bench-classview.sh (Release
// build, offscreen). Options: --devices N, --frames N, --png FILE.

#include "classview.h"
#include "devicehub.h"
#include "devicelistmodel.h"
#include "devicesortproxy.h"
#include "lightchart.h"
#include "mqttclient.h"
#include "protocol.h"
#include "telemetrystore.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDateTime>
#include <QElapsedTimer>
#include <QImage>
#include <QScrollBar>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

using namespace nightlight;

namespace {

struct Stats
{
    double p50 = 0;
    double p95 = 0;
    double max = 0;
};

Stats stats(std::vector<double> ms)
{
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) {
        return ms[std::min(ms.size() - 1, size_t(q * double(ms.size())))];
    };
    return {at(0.5), at(0.95), ms.back()};
}

// CPU time of this thread in ms (the machine is shared with builds; see bench_lightchart).
double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

QString ms(double v)
{
    return QString::number(v, 'f', v < 10 ? 2 : 0) + QStringLiteral(" ms");
}

double lightAt(int device, qint64 t)
{
    // A slow day-night swing per device, phase-shifted, with some noise.
    const double phase = double(device) * 0.7;
    const double noise = double((quint32(t / 1000) * 2654435761u + quint32(device)) >> 28);
    return 450 + 400 * std::sin(double(t) / 3.6e6 + phase) + noise * 3;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("ClassView benchmark"));
    parser.addHelpOption();
    const QCommandLineOption devicesOption(QStringLiteral("devices"),
                                           QStringLiteral("devices (default 100)"),
                                           QStringLiteral("n"), QStringLiteral("100"));
    const QCommandLineOption framesOption(QStringLiteral("frames"),
                                          QStringLiteral("frames per measurement (default 300)"),
                                          QStringLiteral("n"), QStringLiteral("300"));
    const QCommandLineOption pngOption(QStringLiteral("png"),
                                       QStringLiteral("save the last class view frame as a PNG"),
                                       QStringLiteral("file"));
    parser.addOptions({devicesOption, framesOption, pngOption});
    parser.process(app);
    const int devices = std::max(1, parser.value(devicesOption).toInt());
    const int frames = std::max(10, parser.value(framesOption).toInt());

    // 24 h of history per device at the devices' default interval (5 s), the last hour at 1 s.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    TelemetryStore store;
    store.setRetention(0);
    MqttClient client; // never connected: the hub only keeps states
    DeviceHub hub(&client);
    DeviceListModel model;
    model.attach(&hub);
    DeviceSortProxy proxy;
    proxy.setSourceModel(&model);
    qsizetype points = 0;
    for (int d = 1; d <= devices; ++d) {
        const QString id = QStringLiteral("d%1").arg(d);
        std::vector<TelemetryStore::Sample> samples;
        for (qint64 t = now - 24 * 3600 * 1000; t < now - 3600 * 1000; t += 5000)
            samples.push_back({t, lightAt(d, t)});
        for (qint64 t = now - 3600 * 1000; t <= now; t += 1000)
            samples.push_back({t, lightAt(d, t)});
        points += qsizetype(samples.size());
        store.append(id, std::move(samples));
        hub.watchDevice(id);
        DeviceState state;
        state.ledOn = d % 3 == 0;
        state.mode = d % 7 == 0 ? Mode::Manual : Mode::Auto;
        hub.handleMessage({stateTopic(id), encodeState(state), 1, true});
        model.noteStatus(id, d % 17 == 0 ? Availability::Offline : Availability::Online);
        model.noteTelemetry(id, Telemetry{lightAt(d, now), now}, now);
    }

    qint64 clock = now;
    ClassView view;
    view.setClock([&clock] { return clock; });
    view.setModel(&proxy);
    view.setStore(&store);
    view.setDevices(&client, &hub);
    view.resize(1920, 1080);
    view.show();
    QImage frame(view.viewport()->size(), QImage::Format_ARGB32_Premultiplied);
    view.viewport()->render(&frame);

    struct Row
    {
        const char *name;
        Stats wall;
        Stats cpu;
    };
    std::vector<Row> rows;
    int tiles = 0;
    // cold: the window changes every frame, so no sparkline column is kept (as after a preset
    // change or a resize); otherwise live, one reading per device per frame.
    const auto measure = [&](qint64 window, const char *name, bool cold = false) {
        view.setWindow(window);
        std::vector<double> wall;
        std::vector<double> cpu;
        QElapsedTimer timer;
        for (int i = 0; i < frames; ++i) {
            if (cold)
                view.setWindow(i % 2 ? window : window + window / 50);
            // Live: one new reading per device, the clock a second on.
            clock += 1000;
            for (int d = 1; d <= devices; ++d)
                store.append(QStringLiteral("d%1").arg(d), clock, lightAt(d, clock));
            const double c = threadCpuMs();
            timer.start();
            view.viewport()->render(&frame);
            wall.push_back(double(timer.nsecsElapsed()) / 1e6);
            cpu.push_back(threadCpuMs() - c);
        }
        tiles = view.tilesPainted();
        rows.push_back({name, stats(wall), stats(cpu)});
    };
    measure(LightChart::WindowOneMinute, "class view, 1 min window");
    measure(LightChart::WindowOneHour, "class view, 1 h window");
    measure(LightChart::WindowOneDay, "class view, 24 h window");
    measure(LightChart::WindowOneDay, "class view, 24 h, window changed every frame", true);
    if (parser.isSet(pngOption))
        frame.save(parser.value(pngOption));

    // The detail chart beside it: one device, the same store, 1200x400, full redraw.
    LightChart chart;
    chart.resize(1200, 400);
    chart.setStore(&store);
    chart.setDevice(QStringLiteral("d1"));
    QImage chartFrame(chart.size(), QImage::Format_ARGB32_Premultiplied);
    for (auto [window, name] : {std::pair<qint64, const char *>{LightChart::WindowOneHour,
                                                                "detail chart, 1 h, full redraw"},
                                {LightChart::WindowOneDay, "detail chart, 24 h, full redraw"}}) {
        std::vector<double> wall;
        std::vector<double> cpu;
        QElapsedTimer timer;
        for (int i = 0; i < frames; ++i) {
            chart.setWindow(i % 2 ? window : window + window / 50); // nothing cached
            const double c = threadCpuMs();
            timer.start();
            chart.render(&chartFrame);
            wall.push_back(double(timer.nsecsElapsed()) / 1e6);
            cpu.push_back(threadCpuMs() - c);
        }
        rows.push_back({name, stats(wall), stats(cpu)});
    }

    std::printf("bench_classview: %d devices, %lld points stored, class view %dx%d (%d tiles "
                "painted a frame, %d columns), offscreen, %d frames per row, Qt %s\n\n",
                devices, static_cast<long long>(points), view.viewport()->width(),
                view.viewport()->height(), tiles, view.columnCount(), frames, qVersion());
    std::printf("| frame | p50 wall | p95 wall | max wall | p50 CPU | p95 CPU | target |\n"
                "|---|---|---|---|---|---|---|\n");
    for (const Row &r : rows) {
        const bool classRow = QByteArray(r.name).startsWith("class");
        std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.name, qPrintable(ms(r.wall.p50)),
                    qPrintable(ms(r.wall.p95)), qPrintable(ms(r.wall.max)),
                    qPrintable(ms(r.cpu.p50)), qPrintable(ms(r.cpu.p95)),
                    classRow ? "p95 8 ms" : "p95 3 ms");
    }
    return 0;
}
