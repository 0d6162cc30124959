// bench_lightchart: paint time, memory per point and history load time of the chart core with a
// million points in view (issue #5). Not a test: prints a markdown table. Run through
// scripts/bench-chart.sh (Release build, offscreen). Options: --points N, --frames N, --png FILE.

#include "lightchart.h"
#include "telemetrystore.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QPainter>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

using nightlight::LightChart;
using nightlight::TelemetryStore;

namespace {

const QString Device = QStringLiteral("bench");
constexpr qint64 SpacingMs = 10; // 100 samples a second

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

// Resident set size in bytes, from /proc (Linux); 0 elsewhere.
qint64 rssBytes()
{
    QFile f(QStringLiteral("/proc/self/statm"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = f.readAll().split(' ');
    return fields.size() > 1 ? fields.at(1).toLongLong() * 4096 : 0;
}

// A light-like signal with sensor noise and rare one-sample spikes (which must stay visible).
std::vector<TelemetryStore::Sample> makeSamples(qint64 count, qint64 end)
{
    std::vector<TelemetryStore::Sample> out;
    out.reserve(size_t(count));
    const qint64 start = end - count * SpacingMs;
    quint32 noise = 12345;
    for (qint64 i = 0; i < count; ++i) {
        noise = noise * 1664525u + 1013904223u;
        double v = 400 + 300 * std::sin(double(i) / 20000.0) + double(noise >> 28);
        if (i % 99991 == 0)
            v = 1000;
        out.push_back({start + i * SpacingMs, v});
    }
    return out;
}

// CPU time of this thread in ms: unlike wall time, not inflated when other processes take the
// core mid-frame (the benchmark shares a 2-core machine with builds).
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

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("LightChart and TelemetryStore benchmark"));
    parser.addHelpOption();
    const QCommandLineOption pointsOption(QStringLiteral("points"),
                                          QStringLiteral("points in view (default 1000000)"),
                                          QStringLiteral("n"), QStringLiteral("1000000"));
    const QCommandLineOption framesOption(QStringLiteral("frames"),
                                          QStringLiteral("frames per measurement (default 300)"),
                                          QStringLiteral("n"), QStringLiteral("300"));
    const QCommandLineOption pngOption(QStringLiteral("png"),
                                       QStringLiteral("also save the last frame as a PNG"),
                                       QStringLiteral("file"));
    parser.addOptions({pointsOption, framesOption, pngOption});
    parser.process(app);
    const qint64 points = std::max<qint64>(1000, parser.value(pointsOption).toLongLong());
    const int frames = std::max(10, parser.value(framesOption).toInt());

    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const auto samples = makeSamples(points, now);
    const qint64 viewMs = points * SpacingMs * 21 / 20; // every point in view, 5% spare

    // --- memory: columns filled by appends (vector growth) and by loading history ---------
    const qint64 rssBefore = rssBytes();
    TelemetryStore appended;
    for (const auto &s : samples)
        appended.append(Device, s.t, s.v);
    const qint64 rssAfter = rssBytes();
    const double appendedBytes = double(appended.memoryBytes(Device)) / double(points);
    const double rssPerPoint = double(rssAfter - rssBefore) / double(points);

    // --- SQLite: write the history, then load it and paint the first frame ----------------
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("telemetry.sqlite"));
    double writeMs = 0;
    {
        TelemetryStore writer;
        writer.setFlushBatchSize(int(points) + 1); // one transaction, written by flush()
        writer.setMaxPendingWrites(points + 1);
        writer.setRetention(0);
        if (!writer.open(path)) {
            std::fprintf(stderr, "bench_lightchart: cannot open %s\n", qPrintable(path));
            return 1;
        }
        writer.append(Device, samples);
        QElapsedTimer timer;
        timer.start();
        writer.flush();
        writeMs = double(timer.nsecsElapsed()) / 1e6;
    }

    QElapsedTimer loadTimer;
    loadTimer.start();
    TelemetryStore store;
    store.setRetention(0);
    if (!store.open(path)) {
        std::fprintf(stderr, "bench_lightchart: cannot load %s\n", qPrintable(path));
        return 1;
    }
    const double loadMs = double(loadTimer.nsecsElapsed()) / 1e6;
    LightChart chart;
    chart.resize(1200, 400);
    chart.setStore(&store);
    chart.setDevice(Device);
    chart.setWindow(viewMs);
    // As the dashboard shows it: a threshold line and some LED-on periods.
    chart.setThreshold(300);
    QList<QPair<qint64, qint64>> led;
    for (qint64 start = now - viewMs; start < now; start += viewMs / 8)
        led.append({start, start + viewMs / 20});
    chart.setLedPeriods(led);
    QImage frame(chart.size(), QImage::Format_ARGB32_Premultiplied);
    // The file's samples are read as the window shows them (#11): frames until one has them all.
    chart.render(&frame);
    while ((chart.lastFrameLoading() || !chart.lastFrameHadData()) && loadTimer.elapsed() < 60000) {
        QSignalSpy loaded(&store, &TelemetryStore::historyLoaded);
        loaded.wait(100);
        chart.render(&frame);
    }
    const double firstPaintMs = double(loadTimer.nsecsElapsed()) / 1e6;
    const double loadedBytes = double(store.memoryBytes()) / double(points);

    // The frames below draw the million points from memory (a store without a file, as the
    // live part of a store with one is): what a frame costs, not what reading the file costs.
    chart.setStore(&appended);
    chart.setWindow(viewMs);

    // --- paint: full redraw (the window changes every frame: nothing cached) --------------
    std::vector<double> full;
    std::vector<double> fullCpu;
    QElapsedTimer timer;
    for (int i = 0; i < frames; ++i) {
        chart.setWindow(i % 2 ? viewMs : viewMs + viewMs / 50);
        const double cpu = threadCpuMs();
        timer.start();
        chart.render(&frame);
        full.push_back(double(timer.nsecsElapsed()) / 1e6);
        fullCpu.push_back(threadCpuMs() - cpu);
    }
    chart.setWindow(viewMs);
    chart.render(&frame);

    // --- paint: live, one point appended per frame ----------------------------------------
    std::vector<double> live;
    std::vector<double> liveCpu;
    qint64 t = appended.last(Device)->t;
    for (int i = 0; i < frames; ++i) {
        t += SpacingMs;
        appended.append(Device, t, 400 + (i % 7));
        const double cpu = threadCpuMs();
        timer.start();
        chart.render(&frame);
        live.push_back(double(timer.nsecsElapsed()) / 1e6);
        liveCpu.push_back(threadCpuMs() - cpu);
    }

    // --- decimation alone, for reference --------------------------------------------------
    std::vector<double> decimation;
    const auto [v0, v1] = chart.visibleRange();
    for (int i = 0; i < frames; ++i) {
        timer.start();
        const auto cols = appended.decimate(Device, v0 + i, v1, 1150);
        decimation.push_back(double(timer.nsecsElapsed()) / 1e6);
        if (cols.empty())
            return 1;
    }

    if (parser.isSet(pngOption))
        chart.renderToImage().save(parser.value(pngOption));

    const Stats f = stats(full);
    const Stats l = stats(live);
    const Stats dc = stats(decimation);
    const qsizetype inView = appended.countInRange(Device, v0, v1);
    std::printf(
        "bench_lightchart: %lld points in view (%lld stored), 1200x400 offscreen, %d frames "
        "per row, Qt %s\n\n",
        static_cast<long long>(inView), static_cast<long long>(appended.size(Device)), frames,
        qVersion());
    std::printf("| measurement | p50 | p95 | max | target |\n|---|---|---|---|---|\n");
    auto row = [](const char *name, const Stats &s, const char *target) {
        std::printf("| %s | %s | %s | %s | %s |\n", name, qPrintable(ms(s.p50)),
                    qPrintable(ms(s.p95)), qPrintable(ms(s.max)), target);
    };
    row("full redraw (window changed, nothing cached), wall", f, "p95 3 ms");
    row("full redraw, CPU time of the GUI thread", stats(fullCpu), "p95 3 ms");
    row("live: one point appended per frame, wall", l, "p95 1.5 ms");
    row("live: one point appended per frame, CPU time", stats(liveCpu), "p95 1.5 ms");
    row("decimate() alone, 1150 columns", dc, "-");
    std::printf("\n| measurement | value | target |\n|---|---|---|\n");
    std::printf("| memory per point of the file, after the first frame with all its data (the "
                "cache of what the window shows) | %.3f bytes | 16 |\n",
                loadedBytes);
    std::printf("| memory per point, built by append() (vector growth slack included) | %.3f bytes "
                "| 16 |\n",
                appendedBytes);
    std::printf("| RSS growth per point while appending | %.2f bytes | - |\n", rssPerPoint);
    std::printf("| write %lld points to SQLite (one transaction) | %s | - |\n",
                static_cast<long long>(points), qPrintable(ms(writeMs)));
    std::printf("| open the file of %lld points (open(): where they begin and end) | %s | - |\n",
                static_cast<long long>(points), qPrintable(ms(loadMs)));
    std::printf("| open + first paint with all the window's data | %s | 1 s |\n",
                qPrintable(ms(firstPaintMs)));
    return 0;
}
