// bench_history: what telemetry history costs the dashboard today (issue #11, item 5), the
// baseline the tiered, lazy history is judged by. Two modes, each run in its own process:
//   --generate DB --devices N --days D --interval-s S [--end-ms T] [--seed N] [--force]
//       Fills a new SQLite file with N devices x D days of light samples every S seconds ending
//       at T (default now), their LED changes and the devices table, in the schema the dashboard
//       writes (a TelemetryStore creates the file). Prints rows/s and the file size.
//   --measure DB [--device ID] [--retention-days N] [--json FILE]
//       Opens the file as the dashboard does and measures the first frame of a LightChart
//       showing one device with window All, memory after it, a zoom to one minute at the newest
//       data and back, and a CSV export of the last 30 days. Prints a markdown table.
// Not a test. Run through scripts/bench-history.sh (Release build, offscreen).

#include "lightchart.h"
#include "procstatus.h"
#include "telemetrydatabase.h"
#include "telemetrystore.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPaintEvent>
#include <QSaveFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTimer>
#include <QVariant>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

using nightlight::LightChart;
using nightlight::TelemetryDatabase;
using nightlight::TelemetryStore;

namespace {

// Bumped whenever --generate writes different data for the same options: scripts/bench-history.sh
// keys its cached files on it (--generator-version).
constexpr int GeneratorVersion = 2; // 2: history format 2, summaries built

constexpr qint64 HourMs = qint64(3600) * 1000;
constexpr qint64 DayMs = 24 * HourMs;
constexpr double Pi = 3.14159265358979323846;
// nightlight-device's rule with its defaults (device/nightlight.h): the LED goes on below 300 and
// off again from 300 + 20.
constexpr double Threshold = 300;
constexpr double Hysteresis = 20;
// Generating: sample rows per INSERT statement (fewer trips through Qt SQL) and per transaction.
constexpr int RowsPerStatement = 100;
constexpr qint64 RowsPerTransaction = 500000;
// Measuring: the chart as bench_lightchart draws it, the stall probe as bench_ingest's, how long
// to keep the event loop running after a zoom's first frame (follow-up frames count too), and the
// CSV export's window.
constexpr int ChartWidth = 1200;
constexpr int ChartHeight = 400;
constexpr int ProbeIntervalMs = 5;
constexpr int SettleMs = 300;
constexpr qint64 ExportMs = 30 * DayMs;
constexpr int WaitTimeoutMs = 10 * 60 * 1000;

int fail(const QString &message, int code = 1)
{
    std::fprintf(stderr, "bench_history: %s\n", qUtf8Printable(message));
    return code;
}

double msSince(const QElapsedTimer &timer)
{
    return double(timer.nsecsElapsed()) / 1e6;
}

// splitmix64: small, fast, and the same numbers on every platform (std::uniform_real_distribution
// is not), so a seed always gives the same file.
class Random
{
public:
    explicit Random(quint64 seed) : m_state(seed) { }
    quint64 next()
    {
        quint64 z = (m_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [lo, hi).
    double uniform(double lo, double hi)
    {
        return lo + (hi - lo) * double(next() >> 11) / 9007199254740992.0; // 2^53
    }

private:
    quint64 m_state;
};

qint64 floorDiv(qint64 a, qint64 b)
{
    const qint64 q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// One device's light, lux-like, 0..1000 in whole numbers as the sensors report it. Daylight
// follows the sun (a sine over the day, noon shifted per device by up to two hours: windows face
// different ways), scaled per device and per day (the weather), and dimmed by the odd passing
// cloud (one every three hours of daylight on average, 5 to 40 minutes, to 25-70 %); at night a
// street lamp's 5 to 50; sensor noise of 2 + 2 % on top. Call at() in time order.
class LightCurve
{
public:
    LightCurve(quint64 seed, qint64 intervalMs)
        : m_random(seed),
          m_seed(seed),
          m_cloudChance(double(intervalMs) / double(3 * HourMs)),
          m_phaseMs(qint64(m_random.uniform(-2, 2) * double(HourMs))),
          m_amplitude(m_random.uniform(450, 1000)),
          m_night(m_random.uniform(5, 50))
    { }

    double at(qint64 t)
    {
        const qint64 local = t + m_phaseMs;
        const double dayFraction = double(local - floorDiv(local, DayMs) * DayMs) / double(DayMs);
        const double sun = std::sin(2 * Pi * (dayFraction - 0.25)); // 1 at noon
        double light = m_night;
        if (sun > 0) {
            double daylight = m_amplitude * weather(floorDiv(local, DayMs)) * std::pow(sun, 0.7);
            if (t >= m_cloudEnd && m_random.uniform(0, 1) < m_cloudChance) {
                m_cloudEnd = t + qint64(m_random.uniform(5, 40) * 60 * 1000);
                m_cloudDepth = m_random.uniform(0.25, 0.7);
            }
            if (t < m_cloudEnd)
                daylight *= m_cloudDepth;
            light += daylight;
        }
        light += m_random.uniform(-1, 1) * (2 + 0.02 * light);
        return std::clamp(std::round(light), 0.0, 1000.0);
    }

private:
    // The day's weather: 55 to 100 % of the device's clear-sky daylight.
    double weather(qint64 day) const
    {
        return Random(m_seed ^ (quint64(day) * 0x2545f4914f6cdd1dULL)).uniform(0.55, 1.0);
    }

    Random m_random;
    quint64 m_seed;
    double m_cloudChance;
    qint64 m_phaseMs;
    double m_amplitude;
    double m_night;
    qint64 m_cloudEnd = std::numeric_limits<qint64>::min();
    double m_cloudDepth = 1;
};

QString deviceName(int index, int count)
{
    const int width = std::max(2, int(QString::number(count).size()));
    return QStringLiteral("room-%1").arg(index + 1, width, 10, QLatin1Char('0'));
}

QString sqlError(const QSqlError &e)
{
    const QString text = e.text().trimmed();
    return text.isEmpty() ? QStringLiteral("unknown SQLite error") : text;
}

struct GenerateOptions
{
    QString path;
    int devices = 0;
    double days = 0;
    double intervalS = 0;
    qint64 endMs = 0;
    quint64 seed = 1;
    bool force = false;
};

// The rows, written through one Qt SQL connection of our own. The caller removes the connection.
int writeRows(QSqlDatabase db, const GenerateOptions &o, qint64 perDevice, qint64 *samples,
              qint64 *ledChanges)
{
    auto failed = [](const QString &what, const QSqlError &e) {
        return fail(QStringLiteral("%1: %2").arg(what, sqlError(e)));
    };
    QSqlQuery query(db);
    // Speed while generating: no rollback journal, no fsync. The file is thrown away if this
    // fails. It goes back to WAL (as TelemetryStore keeps it) at the end.
    for (const char *pragma : {"PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF",
                               "PRAGMA cache_size=-131072", "PRAGMA temp_store=MEMORY"}) {
        if (!query.exec(QLatin1String(pragma)))
            return failed(QLatin1String(pragma), query.lastError());
    }
    query.finish();
    QString many = QStringLiteral("INSERT INTO samples(device, t, v) VALUES (?, ?, ?)");
    for (int i = 1; i < RowsPerStatement; ++i)
        many += QStringLiteral(", (?, ?, ?)");
    QSqlQuery insertMany(db);
    QSqlQuery insertOne(db);
    QSqlQuery insertLed(db);
    if (!insertMany.prepare(many))
        return failed(QStringLiteral("cannot prepare the sample insert"), insertMany.lastError());
    if (!insertOne.prepare(QStringLiteral("INSERT INTO samples(device, t, v) VALUES (?, ?, ?)")))
        return failed(QStringLiteral("cannot prepare the sample insert"), insertOne.lastError());
    if (!insertLed.prepare(QStringLiteral("INSERT INTO led(device, t, led_on) VALUES (?, ?, ?)")))
        return failed(QStringLiteral("cannot prepare the LED insert"), insertLed.lastError());

    struct Device
    {
        QVariant id;
        LightCurve curve;
        Random jitter;
        qint64 offsetMs;
        bool ledOn;
        qint64 lastT;
    };
    const qint64 intervalMs = std::max<qint64>(1, qint64(std::llround(o.intervalS * 1000)));
    // Devices do not report in step: each has its own offset within the interval and a few ms
    // of jitter per sample (less than a quarter interval, so times stay in order).
    const qint64 maxJitterMs = std::min<qint64>(50, intervalMs / 4);
    std::vector<Device> devices;
    for (int i = 0; i < o.devices; ++i) {
        const quint64 seed = o.seed * 1000003ULL + quint64(i);
        Random setup(seed ^ 0x5bd1e995ULL);
        devices.push_back({QVariant(deviceName(i, o.devices)), LightCurve(seed, intervalMs),
                           Random(seed ^ 0x9e3779b9ULL),
                           qint64(setup.uniform(0, double(intervalMs) / 2)), false, 0});
    }

    struct Row
    {
        const QVariant *device;
        qint64 t;
        double v;
    };
    std::vector<Row> buffer;
    buffer.reserve(RowsPerStatement);
    auto flushBuffer = [&]() -> bool {
        if (buffer.size() == size_t(RowsPerStatement)) {
            for (int i = 0; i < RowsPerStatement; ++i) {
                insertMany.bindValue(3 * i, *buffer[size_t(i)].device);
                insertMany.bindValue(3 * i + 1, buffer[size_t(i)].t);
                insertMany.bindValue(3 * i + 2, buffer[size_t(i)].v);
            }
            if (!insertMany.exec())
                return false;
        } else {
            for (const Row &row : buffer) {
                insertOne.bindValue(0, *row.device);
                insertOne.bindValue(1, row.t);
                insertOne.bindValue(2, row.v);
                if (!insertOne.exec())
                    return false;
            }
        }
        buffer.clear();
        return true;
    };

    // In time order across the devices, as the dashboard writes what arrives: the table's rows
    // of one device are interleaved with the others', and the index grows at one place per
    // device at once, which is how a real file is laid out (and what loading one device pays for).
    const qint64 start = o.endMs - perDevice * intervalMs;
    qint64 inTransaction = 0;
    if (!db.transaction())
        return failed(QStringLiteral("cannot begin a transaction"), db.lastError());
    for (qint64 k = 0; k < perDevice; ++k) {
        for (Device &device : devices) {
            const qint64 jitter =
                maxJitterMs > 0 ? qint64(device.jitter.next() % quint64(maxJitterMs)) : 0;
            const qint64 t = start + (k + 1) * intervalMs - device.offsetMs - jitter;
            const double v = device.curve.at(t);
            device.lastT = t;
            buffer.push_back({&device.id, t, v});
            if (buffer.size() == size_t(RowsPerStatement) && !flushBuffer())
                return failed(QStringLiteral("cannot insert samples"), insertMany.lastError());
            // The LED as nightlight-device switches it, written when it changes (before the
            // first change the dashboard counts it as off).
            const bool on = device.ledOn ? v < Threshold + Hysteresis : v < Threshold;
            if (on != device.ledOn) {
                device.ledOn = on;
                insertLed.bindValue(0, device.id);
                insertLed.bindValue(1, t);
                insertLed.bindValue(2, on ? 1 : 0);
                if (!insertLed.exec())
                    return failed(QStringLiteral("cannot insert an LED change"),
                                  insertLed.lastError());
                ++*ledChanges;
            }
            ++*samples;
            if (++inTransaction >= RowsPerTransaction) {
                if (!flushBuffer())
                    return failed(QStringLiteral("cannot insert samples"), insertOne.lastError());
                if (!db.commit() || !db.transaction())
                    return failed(QStringLiteral("cannot commit"), db.lastError());
                inTransaction = 0;
            }
        }
    }
    if (!flushBuffer())
        return failed(QStringLiteral("cannot insert samples"), insertOne.lastError());
    // Every device listed, last heard at its newest sample.
    QSqlQuery listed(db);
    listed.prepare(QStringLiteral("INSERT INTO devices(device, seen) VALUES (?, ?) "
                                  "ON CONFLICT(device) DO UPDATE SET seen = excluded.seen"));
    for (const Device &device : devices) {
        listed.bindValue(0, device.id);
        listed.bindValue(1, device.lastT);
        if (!listed.exec())
            return failed(QStringLiteral("cannot list a device"), listed.lastError());
    }
    for (QSqlQuery *q : {&insertMany, &insertOne, &insertLed, &listed})
        q->finish();
    if (!db.commit())
        return failed(QStringLiteral("cannot commit"), db.lastError());
    if (!query.exec(QStringLiteral("PRAGMA journal_mode=WAL")))
        return failed(QStringLiteral("cannot go back to WAL"), query.lastError());
    return 0;
}

// summary_done.until of `tier` in the file at `path` (a connection of its own); -1 if none.
qint64 summarizedUntil(const QString &path, qint64 tier)
{
    const QString name = QStringLiteral("bench_history.until");
    qint64 until = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        QSqlQuery q(db);
        if (db.open() &&
            q.exec(QStringLiteral("SELECT until FROM summary_done WHERE tier = %1").arg(tier)) &&
            q.next())
            until = q.value(0).toLongLong();
    }
    QSqlDatabase::removeDatabase(name);
    return until;
}

// Runs the summaries' job as the dashboard does (TelemetryDatabase on its writer thread, chunks
// of about 100 ms) until every tier is built up to `nowMs` less two minutes. Each insertNow()
// waits for the jobs posted before it, and the job posts one chunk at a time behind it.
bool summarizeUntil(TelemetryDatabase &db, const QString &path, qint64 nowMs, int *chunks)
{
    const qint64 quarter = TelemetryDatabase::SummaryTiers[1];
    const qint64 late = nowMs - TelemetryDatabase::SummaryLateMs;
    const qint64 target = late - (((late % quarter) + quarter) % quarter);
    db.summarizeLater(nowMs);
    *chunks = 0;
    while (summarizedUntil(path, quarter) < target) {
        if (!db.insertNow({}, {}, {}).isEmpty())
            return false;
        ++*chunks;
    }
    return true;
}

// Opens `path` with the writer alone (no store, nothing loaded), as the benchmark's generator
// and cost probe use it. False and *message on failure.
bool openWriter(TelemetryDatabase &db, const QString &path, QString *message)
{
    QString reason;
    return db.open(
        path, std::numeric_limits<qint64>::min(), nullptr, [](const QString &) {}, &reason,
        message);
}

int generate(const GenerateOptions &o)
{
    const QFileInfo info(o.path);
    if (info.exists() || info.isSymLink()) {
        if (!o.force) {
            return fail(QStringLiteral("%1 exists; not overwriting it without --force").arg(o.path),
                        2);
        }
        for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")}) {
            QFile f(o.path + suffix);
            if (f.exists() && !f.remove())
                return fail(
                    QStringLiteral("cannot remove %1: %2").arg(f.fileName(), f.errorString()));
        }
    }
    const qint64 perDevice = std::llround(o.days * 86400 / o.intervalS);
    if (perDevice < 1)
        return fail(QStringLiteral("--days and --interval-s give no samples"), 2);

    QElapsedTimer timer;
    timer.start();
    // The schema exactly as the dashboard makes it: a TelemetryStore creates the file.
    {
        TelemetryStore store;
        store.setRetention(0);
        QString error;
        if (!store.open(o.path, &error))
            return fail(error);
        store.close();
    }
    qint64 samples = 0;
    qint64 ledChanges = 0;
    int result = 0;
    const QString connection = QStringLiteral("bench_history.generate");
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection);
        db.setDatabaseName(o.path);
        if (!db.open())
            result =
                fail(QStringLiteral("cannot open %1: %2").arg(o.path, sqlError(db.lastError())));
        else
            result = writeRows(db, o, perDevice, &samples, &ledChanges);
        db.close();
    }
    QSqlDatabase::removeDatabase(connection);
    if (result != 0) {
        QFile::remove(o.path);
        return result;
    }
    const double seconds = msSince(timer) / 1000;
    const qint64 bytesRaw = QFileInfo(o.path).size();
    // The summaries, built by the dashboard's own job from a file whose until is its oldest
    // sample (as after migrating a format-1 file): the catch-up a user's first open would run.
    QElapsedTimer summarizing;
    summarizing.start();
    int chunks = 0;
    {
        QObject context;
        QString failure;
        TelemetryDatabase db(
            &context, [&](const QString &why) { failure = why; }, [] {});
        QString message;
        if (!openWriter(db, o.path, &message))
            return fail(message);
        const bool built = summarizeUntil(db, o.path, QDateTime::currentMSecsSinceEpoch(), &chunks);
        db.close();
        if (!built || !failure.isEmpty())
            return fail(QStringLiteral("cannot build the summaries: %1").arg(failure));
    }
    const double summarySeconds = msSince(summarizing) / 1000;
    const qint64 bytes = QFileInfo(o.path).size();
    std::printf("bench_history --generate %s --devices %d --days %g --interval-s %g --end-ms %lld "
                "--seed %llu (generator %d)\n\n",
                qUtf8Printable(o.path), o.devices, o.days, o.intervalS,
                static_cast<long long>(o.endMs), static_cast<unsigned long long>(o.seed),
                GeneratorVersion);
    std::printf("| measurement | value | unit |\n|---|---:|---|\n");
    std::printf("| samples generated | %lld | rows |\n", static_cast<long long>(samples));
    std::printf("| LED changes generated | %lld | rows |\n", static_cast<long long>(ledChanges));
    std::printf("| generation time | %.1f | s |\n", seconds);
    std::printf("| generation rate | %.0f | rows/s |\n", double(samples + ledChanges) / seconds);
    std::printf("| database file before summaries | %.1f | MiB |\n",
                double(bytesRaw) / (1024 * 1024));
    std::printf("| summaries catch-up | %.1f | s |\n", summarySeconds);
    std::printf("| summaries catch-up chunks | %d | jobs |\n", chunks);
    std::printf("| database file | %.1f | MiB |\n", double(bytes) / (1024 * 1024));
    std::printf("| database bytes per sample | %.1f | bytes |\n", double(bytes) / double(samples));
    return 0;
}

// --- measuring ---------------------------------------------------------------------------------

// Memory of this process as Linux reports it, in KiB; -1 where unknown.
struct Memory
{
    qint64 rssKb = -1; // VmRSS
    qint64 peakKb = -1; // VmHWM
    qint64 privateKb = -1; // Private_Clean + Private_Dirty of smaps_rollup: no library pages
};

Memory memory()
{
    return Memory{rssKb(), peakRssKb(), privateKb()};
}

// How long ago this process was started (exec), in ms: /proc/self/stat's start time (clock ticks
// since boot, so 10 ms steps) against CLOCK_BOOTTIME. -1 if unknown.
double processAgeMs()
{
    QFile stat(QStringLiteral("/proc/self/stat"));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray text = stat.readAll();
    // The command name (field 2) may hold spaces: count the fields after its ')'. The start time
    // is field 22, the 20th after it.
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    const long hz = sysconf(_SC_CLK_TCK);
    timespec now{};
    if (fields.size() < 20 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &now) != 0)
        return -1;
    const double startMs = double(fields.at(19).toLongLong()) * 1000.0 / double(hz);
    return double(now.tv_sec) * 1e3 + double(now.tv_nsec) / 1e6 - startMs;
}

// CPU time the calling thread has used, in ns.
qint64 threadCpuNs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The longest gap between the ticks of a 5 ms timer on the GUI thread, as bench_ingest's meter:
// how long the event loop was away (input and repaints waited that long), with the GUI thread's
// CPU time within that gap (a long gap with little CPU in it is a busy machine, not our code).
// A gap of about the interval itself is no stall.
class StallProbe
{
public:
    StallProbe()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(ProbeIntervalMs);
        QObject::connect(&m_timer, &QTimer::timeout, [this] { tick(); });
        m_clock.start();
        reset();
        m_timer.start();
    }
    // Starts a new measurement from now.
    void reset()
    {
        m_lastNs = m_clock.nsecsElapsed();
        m_lastCpuNs = threadCpuNs();
        m_maxGapNs = 0;
        m_maxGapCpuNs = 0;
    }
    double maxGapMs() const { return double(m_maxGapNs) / 1e6; }
    double maxGapCpuMs() const { return double(m_maxGapCpuNs) / 1e6; }

private:
    void tick()
    {
        const qint64 now = m_clock.nsecsElapsed();
        const qint64 cpu = threadCpuNs();
        if (now - m_lastNs > m_maxGapNs) {
            m_maxGapNs = now - m_lastNs;
            m_maxGapCpuNs = cpu - m_lastCpuNs;
        }
        m_lastNs = now;
        m_lastCpuNs = cpu;
    }

    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastNs = 0;
    qint64 m_lastCpuNs = 0;
    qint64 m_maxGapNs = 0;
    qint64 m_maxGapCpuNs = 0;
};

// LightChart as the dashboard shows it, recording every paint on `clock`: when it started and
// ended and whether its window held data (a frame "with data", not the empty chart). The end of
// paintEvent is when the frame is drawn; the offscreen platform's flush after it is a copy.
class TimedChart : public LightChart
{
public:
    struct Paint
    {
        qint64 startNs = 0;
        qint64 endNs = 0;
        bool withData = false;
        double ms() const { return double(endNs - startNs) / 1e6; }
    };

    explicit TimedChart(const QElapsedTimer &clock) : m_clock(clock) { }

    // The first paint with data that started at or after sinceNs.
    std::optional<Paint> firstWithData(qint64 sinceNs) const
    {
        for (const Paint &p : m_paints) {
            if (p.startNs >= sinceNs && p.withData)
                return p;
        }
        return std::nullopt;
    }
    // The longest paint that started at or after sinceNs, in ms, and how many there were.
    double longestSince(qint64 sinceNs, int *count) const
    {
        double longest = 0;
        *count = 0;
        for (const Paint &p : m_paints) {
            if (p.startNs >= sinceNs) {
                longest = std::max(longest, p.ms());
                ++*count;
            }
        }
        return longest;
    }

protected:
    void paintEvent(QPaintEvent *event) override
    {
        Paint p;
        p.startNs = m_clock.nsecsElapsed();
        LightChart::paintEvent(event);
        p.endNs = m_clock.nsecsElapsed();
        // Data on the screen: drawn, and none of the window still being read.
        p.withData = lastFrameHadData() && !lastFrameLoading();
        m_paints.push_back(p);
    }

private:
    const QElapsedTimer &m_clock;
    std::vector<Paint> m_paints;
};

// Runs the event loop until done() or the timeout; false on timeout. The stall probe's timer
// wakes the loop every 5 ms.
bool waitFor(const std::function<bool()> &done, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
}

void runEventLoop(int ms)
{
    QElapsedTimer timer;
    timer.start();
    waitFor([&] { return timer.elapsed() >= ms; }, ms + 1000);
}

struct Row
{
    QString name;
    double value;
    int decimals;
    QString unit;
    QString target;
};

struct ZoomResult
{
    double firstFrameMs = -1;
    double longestFrameMs = 0;
    int frames = 0;
    double gapMs = 0;
    double gapCpuMs = 0;
};

// One step of the zoom: `action` runs from the event loop (as a click would), then the loop runs
// until a frame with data is drawn and SettleMs more.
std::optional<ZoomResult> zoomStep(TimedChart &chart, StallProbe &probe, const QElapsedTimer &clock,
                                   const std::function<void()> &action)
{
    qint64 actionNs = -1;
    probe.reset();
    QTimer::singleShot(0, &chart, [&] {
        actionNs = clock.nsecsElapsed();
        action();
    });
    if (!waitFor([&] { return actionNs >= 0 && chart.firstWithData(actionNs); }, WaitTimeoutMs))
        return std::nullopt;
    runEventLoop(SettleMs);
    ZoomResult r;
    r.firstFrameMs = double(chart.firstWithData(actionNs)->endNs - actionNs) / 1e6;
    r.longestFrameMs = chart.longestSince(actionNs, &r.frames);
    r.gapMs = probe.maxGapMs();
    r.gapCpuMs = probe.maxGapCpuMs();
    return r;
}

struct MeasureOptions
{
    QString path;
    QString device;
    int retentionDays = 0;
    QString jsonPath;
    bool cold = false;
};

// Asks the kernel to drop this file's pages from its page cache (this file only, nothing else on
// the machine), so open() reads it from the disk as after a reboot. False if it cannot.
bool evictFromPageCache(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return false;
    return posix_fadvise(file.handle(), 0, 0, POSIX_FADV_DONTNEED) == 0;
}

int measure(const MeasureOptions &o)
{
    const QFileInfo info(o.path);
    // TelemetryStore::open() would make a new, empty file: that is not what is measured.
    if (!info.isFile())
        return fail(QStringLiteral("%1: no such database file").arg(o.path), 2);
    const qint64 fileBytes = info.size();
    if (o.cold && !evictFromPageCache(o.path))
        return fail(QStringLiteral("cannot drop %1 from the page cache").arg(o.path));
    StallProbe probe;
    const Memory before = memory();

    // (a) From just before open(), as MainWindow's constructor opens the history, to the first
    // frame of the chart with data in it.
    QElapsedTimer clock;
    clock.start();
    TelemetryStore store;
    store.setRetention(qint64(o.retentionDays) * DayMs);
    QString error;
    if (!store.open(o.path, &error))
        return fail(error);
    const double openMs = msSince(clock);
    const QStringList devices = store.devices();
    const QString device = o.device.isEmpty() ? devices.value(0) : o.device;
    if (device.isEmpty() || !store.contains(device))
        return fail(QStringLiteral("%1 holds no samples of %2")
                        .arg(o.path, device.isEmpty() ? QStringLiteral("any device") : device));
    TimedChart chart(clock);
    chart.resize(ChartWidth, ChartHeight);
    chart.setStore(&store);
    // As MainWindow::selectDevice: the LED periods of all the device's history, then the device.
    chart.setLedPeriods(store.ledPeriods(device, std::numeric_limits<qint64>::min(),
                                         std::numeric_limits<qint64>::max()));
    chart.setDevice(device);
    chart.setWindow(LightChart::WindowAll);
    chart.show();
    if (!waitFor([&] { return chart.firstWithData(0).has_value(); }, WaitTimeoutMs))
        return fail(QStringLiteral("no frame with data within %1 s").arg(WaitTimeoutMs / 1000));
    const double firstFrameMs = double(chart.firstWithData(0)->endNs) / 1e6;
    const double processMs = processAgeMs() - (msSince(clock) - firstFrameMs);
    // (b) Memory right after that frame.
    const Memory after = memory();

    // (c) The 1-minute preset at the newest data, then All again. A cached file's data may end
    // long before now, where the live 1-minute window would be empty: the window is put on the
    // newest minute instead, which costs the chart the same (a new column grid, one decimation).
    qint64 total = 0;
    for (const QString &id : devices)
        total += store.sampleCount(id);
    const qint64 newest = store.last(device)->t;
    const auto zoomIn = zoomStep(chart, probe, clock, [&] {
        chart.setVisibleRange(newest + 1 - LightChart::WindowOneMinute, newest + 1);
    });
    const auto zoomOut =
        zoomStep(chart, probe, clock, [&] { chart.setWindow(LightChart::WindowAll); });
    if (!zoomIn || !zoomOut)
        return fail(QStringLiteral("no frame with data after a zoom"));

    // (d) CSV export of the last 30 days, as MainWindow::exportCsv starts it (written off the
    // GUI thread): the time to the file, and the GUI thread's longest gap meanwhile.
    QTemporaryDir dir;
    if (!dir.isValid())
        return fail(QStringLiteral("cannot make a temporary directory: %1").arg(dir.errorString()));
    const QString csvPath = dir.filePath(QStringLiteral("export.csv"));
    QElapsedTimer csvTimer;
    csvTimer.start();
    probe.reset();
    bool exported = false;
    qint64 csvRows = 0;
    store.exportCsvLater(csvPath, device, newest - ExportMs, newest,
                         [&](const QString &why, qint64 rows) {
                             exported = true;
                             error = why;
                             csvRows = rows;
                         });
    if (!waitFor([&] { return exported; }, WaitTimeoutMs) || !error.isEmpty())
        return fail(QStringLiteral("cannot export CSV: %1").arg(error));
    const double csvMs = msSince(csvTimer);
    const double csvGapMs = probe.maxGapMs();
    const qint64 csvBytes = QFileInfo(csvPath).size();

    auto mib = [](qint64 kb) {
        return kb < 0 ? -1.0 : double(kb) / 1024;
    };
    const double storeBytes = double(store.memoryBytes());
    const QString le16 = QStringLiteral("<= 16 ms");
    const std::vector<Row> rows = {
        {QStringLiteral("database file"), double(fileBytes) / (1024 * 1024), 1,
         QStringLiteral("MiB"), QString()},
        {QStringLiteral("devices"), double(devices.size()), 0, QStringLiteral("devices"),
         QString()},
        {QStringLiteral("samples in the file"), double(total), 0, QStringLiteral("samples"),
         QString()},
        {QStringLiteral("samples of the device shown"), double(store.sampleCount(device)), 0,
         QStringLiteral("samples"), QString()},
        {QStringLiteral("open()"), openMs, 1, QStringLiteral("ms"), QString()},
        {QStringLiteral("first frame with data, from open()"), firstFrameMs, 1,
         QStringLiteral("ms"), QStringLiteral("<= 300 ms")},
        {QStringLiteral("first frame with data, from process start"), processMs, 0,
         QStringLiteral("ms"), QString()},
        {QStringLiteral("RSS before open()"), mib(before.rssKb), 1, QStringLiteral("MiB"),
         QString()},
        {QStringLiteral("RSS after first frame"), mib(after.rssKb), 1, QStringLiteral("MiB"),
         QStringLiteral("<= 80 MB")},
        {QStringLiteral("private memory after first frame"), mib(after.privateKb), 1,
         QStringLiteral("MiB"), QString()},
        {QStringLiteral("peak RSS up to first frame"), mib(after.peakKb), 1, QStringLiteral("MiB"),
         QString()},
        {QStringLiteral("store memory (columns + summaries)"), storeBytes / (1024 * 1024), 1,
         QStringLiteral("MiB"), QString()},
        {QStringLiteral("store bytes per sample"), total > 0 ? storeBytes / double(total) : 0, 2,
         QStringLiteral("bytes"), QString()},
        {QStringLiteral("RSS growth per sample"),
         total > 0 ? double(after.rssKb - before.rssKb) * 1024 / double(total) : 0, 2,
         QStringLiteral("bytes"), QString()},
        {QStringLiteral("zoom All -> 1 min: first frame with data"), zoomIn->firstFrameMs, 1,
         QStringLiteral("ms"), QStringLiteral("<= 200 ms")},
        {QStringLiteral("zoom All -> 1 min: longest frame"), zoomIn->longestFrameMs, 1,
         QStringLiteral("ms"), le16},
        {QStringLiteral("zoom All -> 1 min: longest event-loop gap"), zoomIn->gapMs, 1,
         QStringLiteral("ms"), le16},
        {QStringLiteral("zoom All -> 1 min: GUI-thread CPU in that gap"), zoomIn->gapCpuMs, 1,
         QStringLiteral("ms"), QString()},
        {QStringLiteral("zoom 1 min -> All: first frame with data"), zoomOut->firstFrameMs, 1,
         QStringLiteral("ms"), QStringLiteral("<= 200 ms")},
        {QStringLiteral("zoom 1 min -> All: longest frame"), zoomOut->longestFrameMs, 1,
         QStringLiteral("ms"), le16},
        {QStringLiteral("zoom 1 min -> All: longest event-loop gap"), zoomOut->gapMs, 1,
         QStringLiteral("ms"), le16},
        {QStringLiteral("zoom 1 min -> All: GUI-thread CPU in that gap"), zoomOut->gapCpuMs, 1,
         QStringLiteral("ms"), QString()},
        {QStringLiteral("CSV export, last 30 days"), csvMs, 1, QStringLiteral("ms"), QString()},
        {QStringLiteral("CSV export: longest event-loop gap"), csvGapMs, 1, QStringLiteral("ms"),
         le16},
        {QStringLiteral("CSV export size"), double(csvBytes) / (1024 * 1024), 1,
         QStringLiteral("MiB"), QString()},
        {QStringLiteral("CSV export rows"), double(csvRows), 0, QStringLiteral("rows"), QString()},
    };

    std::printf("bench_history --measure %s: device %s, %s page cache, chart %dx%d offscreen, "
                "retention %s, Qt %s; zoom frames %d + %d; event-loop gaps from a %d ms timer (a "
                "gap of about "
                "%d ms is no stall)\n\n",
                qUtf8Printable(o.path), qUtf8Printable(device),
                o.cold ? "file dropped from the" : "file as it is in the", ChartWidth, ChartHeight,
                o.retentionDays > 0 ? qPrintable(QStringLiteral("%1 days").arg(o.retentionDays))
                                    : "none (everything in the file is shown)",
                qVersion(), zoomIn->frames, zoomOut->frames, ProbeIntervalMs, ProbeIntervalMs);
    std::printf("| measurement | value | unit | target (#11) |\n|---|---:|---|---|\n");
    QJsonArray json;
    for (const Row &row : rows) {
        std::printf("| %s | %s | %s | %s |\n", qUtf8Printable(row.name),
                    qUtf8Printable(QString::number(row.value, 'f', row.decimals)),
                    qUtf8Printable(row.unit),
                    row.target.isEmpty() ? "-" : qUtf8Printable(row.target));
        json.append(QJsonObject{{QStringLiteral("name"), row.name},
                                {QStringLiteral("value"), row.value},
                                {QStringLiteral("unit"), row.unit},
                                {QStringLiteral("target"), row.target}});
    }
    if (!o.jsonPath.isEmpty()) {
        const QJsonObject top{{QStringLiteral("database"), o.path},
                              {QStringLiteral("device"), device},
                              {QStringLiteral("qt"), QString::fromLatin1(qVersion())},
                              {QStringLiteral("rows"), json}};
        QSaveFile file(o.jsonPath);
        if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(top).toJson()) < 0 ||
            !file.commit())
            return fail(QStringLiteral("cannot write %1: %2").arg(o.jsonPath, file.errorString()));
    }
    return 0;
}

// The writer's cost of the summaries at fleet scale: `devices` devices x 60 samples in one
// minute (in a new file, 2000-row batches as the store hands them over), then the one summarize
// that builds that minute's buckets, timed on the writer thread's queue (posted to done).
int summarizeCost(const QString &path, int devices)
{
    QObject context;
    QString failure;
    TelemetryDatabase db(
        &context, [&](const QString &why) { failure = why; }, [] {});
    QString message;
    if (!openWriter(db, path, &message))
        return fail(message);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    // A minute ahead of the clock: the summarize open() posts (at the current time) stops before
    // it, so the one measured below does all of its work.
    const qint64 minute = now - (now % 60000) + 24 * 3600 * 1000;
    std::vector<TelemetryDatabase::SampleRow> batch;
    QElapsedTimer inserting;
    inserting.start();
    for (int s = 0; s < 60; ++s) {
        for (int i = 0; i < devices; ++i) {
            batch.push_back(
                {deviceName(i, devices), minute + s * 1000 + i % 1000, double(i % 1000)});
            if (batch.size() == 2000) {
                if (!db.insertNow(std::move(batch), {}, {}).isEmpty())
                    return fail(QStringLiteral("cannot insert"));
                batch.clear();
            }
        }
    }
    if (!db.insertNow(std::move(batch), {}, {}).isEmpty())
        return fail(QStringLiteral("cannot insert"));
    const double insertMs = msSince(inserting);
    // First a summarize up to the minute before (sets until), then the one measured.
    int chunks = 0;
    if (!summarizeUntil(db, path, minute + TelemetryDatabase::SummaryLateMs, &chunks))
        return fail(failure);
    QElapsedTimer timer;
    timer.start();
    db.summarizeLater(minute + 60000 + TelemetryDatabase::SummaryLateMs);
    while (summarizedUntil(path, TelemetryDatabase::SummaryTiers[0]) < minute + 60000) {
        if (!db.insertNow({}, {}, {}).isEmpty())
            return fail(failure);
    }
    const double summarizeMs = msSince(timer);
    db.close();
    std::printf("| devices | %d | |\n| samples inserted (1 minute) | %d | rows |\n", devices,
                devices * 60);
    std::printf("| inserting them (2000-row transactions) | %.0f | ms |\n", insertMs);
    std::printf("| summarizing that minute (1-minute tier) | %.0f | ms |\n", summarizeMs);
    return failure.isEmpty() ? 0 : fail(failure);
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("History benchmark (#11): --generate a database, or --measure what it costs "
                       "the dashboard. Run through scripts/bench-history.sh."));
    parser.addHelpOption();
    const QCommandLineOption generateOption(QStringLiteral("generate"),
                                            QStringLiteral("make a new database file"),
                                            QStringLiteral("file"));
    const QCommandLineOption measureOption(QStringLiteral("measure"),
                                           QStringLiteral("measure the dashboard on a database"),
                                           QStringLiteral("file"));
    const QCommandLineOption devicesOption(QStringLiteral("devices"),
                                           QStringLiteral("--generate: devices (1-100000)"),
                                           QStringLiteral("n"));
    const QCommandLineOption daysOption(QStringLiteral("days"),
                                        QStringLiteral("--generate: days of history (> 0)"),
                                        QStringLiteral("d"));
    const QCommandLineOption intervalOption(QStringLiteral("interval-s"),
                                            QStringLiteral("--generate: seconds between samples"),
                                            QStringLiteral("s"));
    const QCommandLineOption endOption(
        QStringLiteral("end-ms"),
        QStringLiteral("--generate: the newest sample's time, ms since the epoch (default now)"),
        QStringLiteral("t"));
    const QCommandLineOption seedOption(QStringLiteral("seed"),
                                        QStringLiteral("--generate: random seed (default 1)"),
                                        QStringLiteral("n"), QStringLiteral("1"));
    const QCommandLineOption forceOption(QStringLiteral("force"),
                                         QStringLiteral("--generate: overwrite an existing file"));
    const QCommandLineOption deviceOption(
        QStringLiteral("device"), QStringLiteral("--measure: the device shown (default the first)"),
        QStringLiteral("id"));
    const QCommandLineOption retentionOption(
        QStringLiteral("retention-days"),
        QStringLiteral("--measure: the store's retention (default 0: keep all; the dashboard's is "
                       "30, which deletes from the file what is older)"),
        QStringLiteral("days"), QStringLiteral("0"));
    const QCommandLineOption coldOption(
        QStringLiteral("cold"),
        QStringLiteral(
            "--measure: drop the file from the OS page cache first (as after a reboot)"));
    const QCommandLineOption jsonOption(QStringLiteral("json"),
                                        QStringLiteral("--measure: also write the table as JSON"),
                                        QStringLiteral("file"));
    const QCommandLineOption costOption(
        QStringLiteral("summarize-cost"),
        QStringLiteral("time one summarize of one minute of --devices devices x 60 samples in a "
                       "new file"),
        QStringLiteral("file"));
    const QCommandLineOption versionOption(
        QStringLiteral("generator-version"),
        QStringLiteral("print the generator's version (cache key of bench-history.sh)"));
    parser.addOptions({generateOption, measureOption, devicesOption, daysOption, intervalOption,
                       endOption, seedOption, forceOption, deviceOption, retentionOption,
                       coldOption, jsonOption, costOption, versionOption});
    parser.process(app);
    if (parser.isSet(costOption))
        return summarizeCost(parser.value(costOption), parser.value(devicesOption).toInt());

    if (parser.isSet(versionOption)) {
        std::printf("%d\n", GeneratorVersion);
        return 0;
    }
    if (parser.isSet(generateOption) == parser.isSet(measureOption))
        return fail(QStringLiteral("give either --generate FILE or --measure FILE (see --help)"),
                    2);
    if (parser.isSet(generateOption)) {
        GenerateOptions o;
        o.path = parser.value(generateOption);
        bool ok = false;
        o.devices = parser.value(devicesOption).toInt(&ok);
        if (!ok || o.devices < 1 || o.devices > 100000)
            return fail(QStringLiteral("--devices must be a whole number from 1 to 100000"), 2);
        o.days = parser.value(daysOption).toDouble(&ok);
        if (!ok || !(o.days > 0) || o.days > 3650)
            return fail(QStringLiteral("--days must be a number above 0 (at most 3650)"), 2);
        o.intervalS = parser.value(intervalOption).toDouble(&ok);
        if (!ok || !(o.intervalS >= 0.001) || o.intervalS > 86400)
            return fail(QStringLiteral("--interval-s must be a number from 0.001 to 86400"), 2);
        o.endMs = QDateTime::currentMSecsSinceEpoch();
        if (parser.isSet(endOption)) {
            o.endMs = parser.value(endOption).toLongLong(&ok);
            if (!ok || o.endMs < 0)
                return fail(QStringLiteral("--end-ms must be a whole number >= 0"), 2);
        }
        o.seed = parser.value(seedOption).toULongLong(&ok);
        if (!ok)
            return fail(QStringLiteral("--seed must be a whole number >= 0"), 2);
        o.force = parser.isSet(forceOption);
        return generate(o);
    }
    MeasureOptions o;
    o.path = parser.value(measureOption);
    o.device = parser.value(deviceOption);
    bool ok = false;
    o.retentionDays = parser.value(retentionOption).toInt(&ok);
    if (!ok || o.retentionDays < 0)
        return fail(QStringLiteral("--retention-days must be a whole number >= 0"), 2);
    o.jsonPath = parser.value(jsonOption);
    o.cold = parser.isSet(coldOption);
    return measure(o);
}
