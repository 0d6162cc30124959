// Over 600 lines: ~45 small delegating functions, plus the write queue, open() merge, retention.

#include "telemetrystore.h"

#include "csvexport.h"
#include "ledhistory.h"
#include "telemetrydatabase.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcStore, "nightlight.store")

constexpr int RetentionCheckMs = 60 * 1000;

// The file's retention per tier for the store's retention (0: keep all): raw samples 7 days,
// 1-minute summaries 90 days, 15-minute ones the whole retention, none beyond it (#11).
TelemetryDatabase::Retention tierRetention(qint64 retentionMs)
{
    constexpr qint64 DayMs = qint64(24) * 3600 * 1000;
    if (retentionMs <= 0)
        return {};
    return {std::min(7 * DayMs, retentionMs), std::min(90 * DayMs, retentionMs), retentionMs};
}

using PendingRow = TelemetryDatabase::SampleRow;
using PendingLed = TelemetryDatabase::LedRow;
using PendingDevice = TelemetryDatabase::DeviceRow;

// `seen` is written again once it is this much older than the time a device is heard (at most 24
// writes a day per device): it only decides, at open(), whether a device with nothing left in the
// file was heard within the retention period.
constexpr qint64 SeenResolutionMs = qint64(3600) * 1000;

} // namespace

struct TelemetryStore::Private
{
    explicit Private(TelemetryStore *store)
        : q(store),
          db(
              store, [this](const QString &why) { writeFailed(why); }, [this] { writeSucceeded(); })
    { }

    TelemetryStore *q = nullptr;
    std::map<QString, SampleSeries> series;
    // Every device's LED changes (see LedHistory). A device whose changes were all ignored still
    // has an (empty) entry.
    std::map<QString, LedHistory> led;
    // The devices the store lists (knownDevices()), each with the `seen` last queued for the file.
    std::map<QString, qint64> known;
    // Rows queued on the GUI thread, handed to the writer as one batch.
    std::vector<PendingRow> pending;
    std::vector<PendingLed> pendingLed;
    std::vector<PendingDevice> pendingDevices;

    QString path;
    bool open = false;
    QString lastWarning;
    QString openError; // why the last open() failed, without the path

    // The backlog bound (#9): rows waiting to be written, queued here or handed to the writer,
    // never exceed maxPendingWrites; samples beyond it are dropped (newest first: they are never
    // queued) and counted. `trouble` is true from the first failed write (or dropped sample) until
    // a write succeeds with the backlog at most half the bound; each such episode warns once at
    // its start and once, with `droppedInTrouble`, at its end.
    qsizetype maxPendingWrites = DefaultMaxPendingWrites;
    qsizetype dropped = 0;
    qsizetype droppedInTrouble = 0;
    bool trouble = false;

    QTimer flushTimer;
    QTimer retentionTimer;
    int flushIntervalMs = 1000;
    int flushBatchSize = 2000;
    qint64 retentionMs = DefaultRetentionMs;
    qsizetype maxSamples = 0;

    // The file and its writer thread, started by the first open(). Declared last: destroyed
    // first, its destructor stops the thread before anything its reports touch goes.
    TelemetryDatabase db;

    const SampleSeries *find(const QString &id) const
    {
        const auto it = series.find(id);
        return it == series.end() ? nullptr : &it->second;
    }

    // `problem` false: good news (writing works again), logged as info, not as a warning.
    void setWarning(const QString &message, bool problem = true)
    {
        lastWarning = message;
        if (problem)
            qCWarning(lcStore).noquote() << message;
        else
            qCInfo(lcStore).noquote() << message;
        emit q->warningOccurred(message);
    }

    void beginTrouble(const QString &message)
    {
        trouble = true;
        droppedInTrouble = 0;
        db.setReportSuccess(true);
        setWarning(message);
    }

    // A write failed (on the writer thread, or in flush()): warn at the first failure of an
    // episode only (a full disk fails every retry, once a second), and try again after the
    // interval; the writer keeps the rows.
    void writeFailed(const QString &message)
    {
        if (!trouble) {
            beginTrouble(QStringLiteral("%1; retrying, and keeping at most %2 unwritten rows "
                                        "(newer samples are then not saved)")
                             .arg(message)
                             .arg(maxPendingWrites));
        }
        if (open && !flushTimer.isActive())
            flushTimer.start(flushIntervalMs);
    }

    // An insert succeeded while in trouble: the episode ends once the backlog is down to half the
    // bound (so a writer that only just keeps up does not warn and recover over and over).
    void writeSucceeded()
    {
        if (!trouble || pendingWrites() > maxPendingWrites / 2)
            return;
        trouble = false;
        db.setReportSuccess(false);
        setWarning(droppedInTrouble == 0
                       ? QStringLiteral("writing to %1 works again; no samples were lost").arg(path)
                       : QStringLiteral("writing to %1 works again; %2 samples that arrived "
                                        "while it did not could not be kept and are not in the "
                                        "file")
                             .arg(path)
                             .arg(droppedInTrouble),
                   false);
    }

    qsizetype pendingWrites() const { return queued() + db.unwritten(); }

    // Gives the queued rows to the writer thread without waiting (the flush timer's job). With
    // nothing queued, still pokes the writer when it holds rows of a failed write.
    void handOver()
    {
        flushTimer.stop();
        if (!open || (queued() == 0 && pendingDevices.empty() && db.unwritten() == 0))
            return;
        std::vector<PendingRow> batch;
        batch.swap(pending);
        std::vector<PendingLed> ledBatch;
        ledBatch.swap(pendingLed);
        std::vector<PendingDevice> deviceBatch;
        deviceBatch.swap(pendingDevices);
        db.insertLater(std::move(batch), std::move(ledBatch), std::move(deviceBatch));
    }

    // The backlog queued here (device rows are not part of it).
    qsizetype queued() const { return qsizetype(pending.size() + pendingLed.size()); }

    // The device is heard of now: listed from now on, and in the file's devices table (again,
    // when the `seen` written last is SeenResolutionMs old). Like LED changes, always queued.
    void noteDevice(const QString &id)
    {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const auto it = known.find(id);
        if (it != known.end() && now - it->second < SeenResolutionMs)
            return;
        known[id] = now;
        if (!open)
            return; // open() queues what the file lacks
        pendingDevices.push_back({id, now});
        startFlushTimer();
    }

    void startFlushTimer()
    {
        if (queued() >= flushBatchSize)
            flushTimer.start(0);
        else if (!flushTimer.isActive())
            flushTimer.start(flushIntervalMs);
    }

    void queue(const QString &id, qint64 t, double v)
    {
        // Memory-only until open(), which queues what was appended before it.
        if (!open)
            return;
        // Only this thread adds to the backlog, so it never grows past the bound. Refusing the
        // newest keeps what waits a gapless continuation of the file, and keeps the rows already
        // handed to the writer out of reach of this thread (docs/dashboard.md "Disk full").
        if (pendingWrites() >= maxPendingWrites) {
            if (!trouble) {
                beginTrouble(QStringLiteral("%1 rows wait to be written to %2; newer samples are "
                                            "not saved until they are")
                                 .arg(pendingWrites())
                                 .arg(path));
            }
            ++dropped;
            ++droppedInTrouble;
            return;
        }
        pending.push_back({id, t, v});
        startFlushTimer();
    }

    void queueLed(const QString &id, qint64 t, bool on)
    {
        if (!open)
            return;
        pendingLed.push_back({id, t, on});
        startFlushTimer();
    }

    // Applies the retention cutoff to the LED changes of every device, in memory and (on the
    // writer thread, after the rows handed over before) in the file.
    void clipLed(qint64 cutoff)
    {
        for (auto &[id, changes] : led) {
            bool carried = false;
            if (!changes.clipBefore(cutoff, &carried))
                continue;
            const QString device = id;
            pendingLed.erase(std::remove_if(pendingLed.begin(), pendingLed.end(),
                                            [&](const PendingLed &r) {
                                                return r.device == device && r.t < cutoff;
                                            }),
                             pendingLed.end());
            if (open)
                db.clipLedLater(device, cutoff, carried);
            emit q->ledPeriodsChanged(id);
        }
    }

    // Drops the oldest samples of `id` so that its first sample is at index `count`.
    void dropFront(const QString &id, SampleSeries &s, qsizetype count)
    {
        if (count == 0)
            return;
        const qint64 newFirst = s.dropFront(count);
        pending.erase(
            std::remove_if(pending.begin(), pending.end(),
                           [&](const PendingRow &r) { return r.device == id && r.t < newFirst; }),
            pending.end());
        if (open)
            db.deleteSamplesBeforeLater(id, newFirst);
        emit q->samplesRemoved(id);
    }

    void enforceCap(const QString &id, SampleSeries &s)
    {
        if (maxSamples <= 0)
            return;
        const qsizetype slack = std::max<qsizetype>(1, maxSamples / 8);
        if (s.size() > maxSamples + slack)
            dropFront(id, s, s.size() - maxSamples);
    }

    SampleSeries &seriesFor(const QString &id, bool *created)
    {
        auto it = series.find(id);
        *created = it == series.end();
        if (*created)
            it = series.emplace(id, SampleSeries()).first;
        return it->second;
    }

    // open(): merges the LED changes read from the file with those appended before, and queues
    // the latter where the file lacks them.
    void mergeLoadedLed(std::map<QString, LedHistory> &fromFile, qint64 cutoff)
    {
        for (auto &[id, changes] : led) {
            // What the file lacks; anything before the cutoff it has dropped on purpose.
            bool carried = false;
            changes.clipBefore(cutoff, &carried);
            const auto it = fromFile.find(id);
            const LedHistory none;
            const LedHistory &inFile = it == fromFile.end() ? none : it->second;
            for (const LedHistory::Change &c : changes.changes()) {
                if (!inFile.contains(c))
                    pendingLed.push_back({id, c.t, c.on});
            }
        }
        for (auto &[id, inFile] : fromFile) {
            if (inFile.isEmpty())
                continue;
            // The file's first among equal times (it came first).
            led[id].mergeOlder(std::move(inFile));
            emit q->ledPeriodsChanged(id);
        }
    }
};

TelemetryStore::TelemetryStore(QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this))
{
    d->flushTimer.setSingleShot(true);
    connect(&d->flushTimer, &QTimer::timeout, this, [this] { d->handOver(); });
    d->retentionTimer.setInterval(RetentionCheckMs);
    connect(&d->retentionTimer, &QTimer::timeout, this, [this] {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (d->retentionMs > 0)
            removeBefore(now - d->retentionMs);
        // The file's summaries (TelemetryDatabase::open() starts them too) and its tiers'
        // retention, on the writer behind the deletes above.
        if (d->open) {
            d->db.summarizeLater(now);
            d->db.applyRetentionLater(now, tierRetention(d->retentionMs));
        }
    });
    d->retentionTimer.start();
}

TelemetryStore::~TelemetryStore()
{
    close();
}

// --- persistence ---------------------------------------------------------------------------

bool TelemetryStore::open(const QString &path, QString *error)
{
    close();
    d->path = path;
    d->openError.clear();
    TelemetryDatabase::Loaded file;
    std::map<QString, std::vector<Sample>> &loaded = file.samples;
    const qint64 cutoff = d->retentionMs > 0 ? QDateTime::currentMSecsSinceEpoch() - d->retentionMs
                                             : std::numeric_limits<qint64>::min();
    // Loading runs on the writer thread (the connection lives there); open() waits for it. A
    // damaged file is moved aside (the warning fires then) and a new one started.
    QString reason;
    QString message;
    if (!d->db.open(
            path, cutoff, &file, [this](const QString &warning) { d->setWarning(warning); },
            &reason, &message)) {
        // The store works in memory.
        d->openError = reason;
        qCWarning(lcStore).noquote() << message;
        if (error)
            *error = message;
        return false;
    }
    d->open = true;
    // Samples appended before open() (or while closed) that the file does not hold yet.
    for (const auto &[id, s] : d->series) {
        const auto it = loaded.find(id);
        const std::vector<Sample> none;
        const std::vector<Sample> &inFile = it == loaded.end() ? none : it->second;
        const std::vector<qint64> &t = s.times();
        const std::vector<double> &v = s.values();
        size_t j = 0;
        for (size_t i = 0; i < t.size(); ++i) {
            while (j < inFile.size() && inFile[j].t < t[i])
                ++j;
            bool stored = false;
            for (size_t k = j; k < inFile.size() && inFile[k].t == t[i] && !stored; ++k)
                stored = inFile[k].v == v[i];
            if (!stored)
                d->queue(id, t[i], v[i]); // within the backlog bound
        }
    }

    for (auto &[id, samples] : loaded) {
        if (samples.empty())
            continue;
        bool created = false;
        SampleSeries &s = d->seriesFor(id, &created);
        if (created) {
            s.assignSorted(samples);
        } else {
            // Samples appended before open(): merge; they were queued for writing above.
            s.merge(samples);
        }
        samples = std::vector<Sample>();
        if (created)
            emit deviceAdded(id);
        emit samplesAppended(id);
        d->enforceCap(id, s);
    }
    d->mergeLoadedLed(file.led, cutoff);
    // Devices heard of before open() that the file does not list yet, then the file's.
    for (const auto &[id, seen] : d->known) {
        if (!file.devices.count(id))
            d->pendingDevices.push_back({id, seen});
    }
    for (const auto &[id, seen] : file.devices) {
        qint64 &mine = d->known[id];
        mine = std::max(mine, seen);
    }
    if (d->queued() > 0 || !d->pendingDevices.empty())
        d->flushTimer.start(d->flushIntervalMs);
    return true;
}

bool TelemetryStore::isOpen() const
{
    return d->open;
}

QString TelemetryStore::path() const
{
    return d->path;
}

bool TelemetryStore::flush(QString *error)
{
    d->flushTimer.stop();
    if (!d->open)
        return true;
    std::vector<PendingRow> batch;
    batch.swap(d->pending);
    std::vector<PendingLed> ledBatch;
    ledBatch.swap(d->pendingLed);
    std::vector<PendingDevice> deviceBatch;
    deviceBatch.swap(d->pendingDevices);
    // Queued after every batch and delete handed over before, so when it returns they are done.
    // With nothing new it still retries the rows of a failed write.
    const QString message =
        d->db.insertNow(std::move(batch), std::move(ledBatch), std::move(deviceBatch));
    if (!message.isEmpty()) {
        // The writer keeps the rows: the next flush (or the timer) tries again.
        d->writeFailed(message);
        if (error)
            *error = message;
        return false;
    }
    d->writeSucceeded();
    return true;
}

void TelemetryStore::close()
{
    if (!d->open)
        return;
    flush();
    d->flushTimer.stop();
    d->db.close();
    d->open = false;
    // What could not be written is queued again by the next open() (it compares with the file).
    d->pending.clear();
    d->pendingLed.clear();
    d->pendingDevices.clear();
    // A new file, a new start: its first failure warns again.
    d->trouble = false;
    d->db.setReportSuccess(false);
}

QString TelemetryStore::lastWarning() const
{
    return d->lastWarning;
}

QString TelemetryStore::openError() const
{
    return d->openError;
}

void TelemetryStore::setFlushInterval(int ms)
{
    d->flushIntervalMs = std::max(0, ms);
}

int TelemetryStore::flushInterval() const
{
    return d->flushIntervalMs;
}

void TelemetryStore::setFlushBatchSize(int samples)
{
    d->flushBatchSize = std::max(1, samples);
}

int TelemetryStore::flushBatchSize() const
{
    return d->flushBatchSize;
}

qsizetype TelemetryStore::pendingWrites() const
{
    return d->pendingWrites();
}

void TelemetryStore::setMaxPendingWrites(qsizetype rows)
{
    d->maxPendingWrites = std::max<qsizetype>(1, rows);
}

qsizetype TelemetryStore::maxPendingWrites() const
{
    return d->maxPendingWrites;
}

qsizetype TelemetryStore::droppedWrites() const
{
    return d->dropped;
}

qint64 TelemetryStore::setMaxPageCount(qint64 pages)
{
    return d->db.setMaxPageCount(std::max<qint64>(0, pages));
}

// --- bounds --------------------------------------------------------------------------------

void TelemetryStore::setRetention(qint64 ms)
{
    d->retentionMs = std::max<qint64>(0, ms);
    if (d->retentionMs > 0)
        removeBefore(QDateTime::currentMSecsSinceEpoch() - d->retentionMs);
}

qint64 TelemetryStore::retention() const
{
    return d->retentionMs;
}

void TelemetryStore::setMaxSamplesPerDevice(qsizetype count)
{
    d->maxSamples = std::max<qsizetype>(0, count);
    for (auto &[id, s] : d->series)
        d->enforceCap(id, s);
}

qsizetype TelemetryStore::maxSamplesPerDevice() const
{
    return d->maxSamples;
}
void TelemetryStore::removeBefore(qint64 cutoffMs)
{
    for (auto &[id, s] : d->series)
        d->dropFront(id, s, s.countBefore(cutoffMs));
    // Rows of devices not in memory cannot exist (open() loads them all), but queued rows can.
    d->pending.erase(std::remove_if(d->pending.begin(), d->pending.end(),
                                    [&](const PendingRow &r) { return r.t < cutoffMs; }),
                     d->pending.end());
    d->clipLed(cutoffMs);
}

// --- writing -------------------------------------------------------------------------------

void TelemetryStore::append(const QString &deviceId, qint64 tMs, double value)
{
    if (!std::isfinite(value))
        return;
    d->noteDevice(deviceId);
    bool created = false;
    SampleSeries &s = d->seriesFor(deviceId, &created);
    if (!s.insert(tMs, value))
        return; // a copy of a stored sample (QoS 1 redelivery)
    d->queue(deviceId, tMs, value);
    if (created)
        emit deviceAdded(deviceId);
    emit samplesAppended(deviceId);
    d->enforceCap(deviceId, s);
}

void TelemetryStore::append(const QString &deviceId, std::vector<Sample> samples)
{
    samples.erase(std::remove_if(samples.begin(), samples.end(),
                                 [](const Sample &s) { return !std::isfinite(s.v); }),
                  samples.end());
    if (samples.empty())
        return;
    d->noteDevice(deviceId);
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample &a, const Sample &b) { return a.t < b.t; });
    bool created = false;
    SampleSeries &s = d->seriesFor(deviceId, &created);
    const qsizetype added = s.merge(samples, [&](qint64 t, double v) { d->queue(deviceId, t, v); });
    if (created)
        emit deviceAdded(deviceId);
    if (added > 0)
        emit samplesAppended(deviceId);
    d->enforceCap(deviceId, s);
}

void TelemetryStore::appendLedState(const QString &deviceId, qint64 tMs, bool on)
{
    d->noteDevice(deviceId);
    if (!d->led[deviceId].insert(tMs, on))
        return; // the value in effect at tMs: not a change
    d->queueLed(deviceId, tMs, on);
    emit ledPeriodsChanged(deviceId);
}

void TelemetryStore::addDevice(const QString &deviceId)
{
    d->noteDevice(deviceId);
}

void TelemetryStore::forgetDevice(const QString &deviceId, bool deleteHistory)
{
    d->known.erase(deviceId);
    const auto ofDevice = [&deviceId](const auto &row) {
        return row.device == deviceId;
    };
    auto &queuedDevices = d->pendingDevices;
    queuedDevices.erase(std::remove_if(queuedDevices.begin(), queuedDevices.end(), ofDevice),
                        queuedDevices.end());
    bool hadSamples = false;
    bool hadLed = false;
    if (deleteHistory) {
        hadSamples = d->series.erase(deviceId) > 0;
        hadLed = d->led.erase(deviceId) > 0;
        d->pending.erase(std::remove_if(d->pending.begin(), d->pending.end(), ofDevice),
                         d->pending.end());
        d->pendingLed.erase(std::remove_if(d->pendingLed.begin(), d->pendingLed.end(), ofDevice),
                            d->pendingLed.end());
    }
    // After the rows handed over before, on the writer thread: a long history is deleted there.
    if (d->open)
        d->db.forgetLater(deviceId, deleteHistory);
    if (hadSamples)
        emit samplesRemoved(deviceId);
    if (hadLed)
        emit ledPeriodsChanged(deviceId);
}

QStringList TelemetryStore::knownDevices() const
{
    QStringList ids;
    ids.reserve(qsizetype(d->known.size()));
    for (const auto &entry : d->known)
        ids.append(entry.first);
    return ids;
}

// --- reading -------------------------------------------------------------------------------

QList<QPair<qint64, qint64>> TelemetryStore::ledPeriods(const QString &deviceId, qint64 t0Ms,
                                                        qint64 t1Ms) const
{
    const auto found = d->led.find(deviceId);
    if (found == d->led.end())
        return {};
    return found->second.periods(t0Ms, t1Ms);
}

QStringList TelemetryStore::devices() const
{
    QStringList ids;
    ids.reserve(qsizetype(d->series.size()));
    for (const auto &entry : d->series)
        ids.append(entry.first);
    return ids;
}

bool TelemetryStore::contains(const QString &deviceId) const
{
    return d->find(deviceId) != nullptr;
}
qsizetype TelemetryStore::size(const QString &deviceId) const
{
    const SampleSeries *s = d->find(deviceId);
    return s ? s->size() : 0;
}

std::optional<TelemetryStore::Sample> TelemetryStore::last(const QString &deviceId) const
{
    const SampleSeries *s = d->find(deviceId);
    return s ? s->last() : std::nullopt;
}

std::optional<TelemetryStore::Range> TelemetryStore::timeRange(const QString &deviceId) const
{
    const SampleSeries *s = d->find(deviceId);
    return s ? s->timeRange() : std::nullopt;
}

quint64 TelemetryStore::generation(const QString &deviceId) const
{
    const SampleSeries *s = d->find(deviceId);
    return s ? s->generation() : 0;
}

std::vector<TelemetryStore::Column> TelemetryStore::decimate(const QString &deviceId, qint64 t0Ms,
                                                             qint64 t1Ms, int columns) const
{
    const SampleSeries *s = d->find(deviceId);
    if (!s)
        return std::vector<Column>(size_t(std::max(0, columns)));
    return s->decimate(t0Ms, t1Ms, columns);
}

void TelemetryStore::forEachInRange(const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                                    const std::function<void(qint64, double)> &fn) const
{
    if (const SampleSeries *s = d->find(deviceId))
        s->forEachInRange(t0Ms, t1Ms, fn);
}

qsizetype TelemetryStore::countInRange(const QString &deviceId, qint64 t0Ms, qint64 t1Ms) const
{
    const SampleSeries *s = d->find(deviceId);
    return s ? s->countInRange(t0Ms, t1Ms) : 0;
}

std::optional<TelemetryStore::Sample> TelemetryStore::nearest(const QString &deviceId,
                                                              qint64 tMs) const
{
    const SampleSeries *s = d->find(deviceId);
    return s ? s->nearest(tMs) : std::nullopt;
}

bool TelemetryStore::exportCsv(QIODevice *out, const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                               QString *error) const
{
    return writeCsv(
        out, deviceId,
        [&](const std::function<void(qint64, double)> &sink) {
            forEachInRange(deviceId, t0Ms, t1Ms, sink);
        },
        error);
}

qsizetype TelemetryStore::memoryBytes(const QString &deviceId) const
{
    if (!deviceId.isEmpty()) {
        const SampleSeries *s = d->find(deviceId);
        return s ? s->memoryBytes() : 0;
    }
    qsizetype total = 0;
    for (const auto &entry : d->series)
        total += entry.second.memoryBytes();
    return total;
}

} // namespace nightlight
