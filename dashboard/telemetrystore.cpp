// Over 600 lines: the facade's ~55 public functions, each small, over the parts it ties
// together (SampleSeries and LedHistory per device, WriteQueue, FileHistory, TelemetryDatabase),
// plus open()'s merge of memory with the file, the memory's tail, and retention.

#include "telemetrystore.h"

#include "csvexport.h"
#include "filehistory.h"
#include "ledhistory.h"
#include "telemetrydatabase.h"
#include "writequeue.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QSaveFile>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcStore, "nightlight.store")

constexpr int RetentionCheckMs = 60 * 1000;

// The file's retention per tier for the store's retention (0: keep all): raw samples `rawMs`
// (7 days by default), 1-minute summaries `minuteMs` (90 days), 15-minute ones the whole
// retention, none beyond it (#11).
TelemetryDatabase::Retention tierRetention(qint64 retentionMs, qint64 rawMs, qint64 minuteMs)
{
    if (retentionMs <= 0)
        return {};
    return {std::min(rawMs, retentionMs), std::min(minuteMs, retentionMs), retentionMs};
}

using PendingRow = TelemetryDatabase::SampleRow;
using PendingLed = TelemetryDatabase::LedRow;

// `seen` is written again once it is this much older than the time a device is heard (at most 24
// writes a day per device): it only decides, at open(), whether a device with nothing left in the
// file was heard within the retention period.
constexpr qint64 SeenResolutionMs = qint64(3600) * 1000;

// With a file open, the samples kept in memory (SampleSeries) are those of about the last five
// minutes: the rest is read from the file as it comes into view (#11, docs/chart.md).
constexpr qint64 TailKeepMs = qint64(5) * 60 * 1000;

// The exclusive end of a range whose last ms is t1 (the reader's ranges are half-open).
qint64 endAfter(qint64 t1)
{
    return t1 < std::numeric_limits<qint64>::max() ? t1 + 1 : t1;
}

} // namespace

struct TelemetryStore::Private
{
    explicit Private(TelemetryStore *store)
        : q(store),
          db(
              store, [this](const QString &why) { writes.writeFailed(why); },
              [this] { writes.writeSucceeded(); }),
          writes(
              db, [this](const QString &message, bool problem) { setWarning(message, problem); },
              [this] { refreshDirtyLater(); }),
          history(store, [store](const QString &id) { emit store->historyLoaded(id); })
    { }

    TelemetryStore *q = nullptr;
    std::map<QString, SampleSeries> series;
    // Every device's LED changes (see LedHistory). A device whose changes were all ignored still
    // has an (empty) entry.
    std::map<QString, LedHistory> led;
    // The devices the store lists (knownDevices()), each with the `seen` last queued for the file.
    std::map<QString, qint64> known;
    QString path;
    bool open = false;
    QString lastWarning;
    QString openError; // why the last open() failed, without the path

    QTimer retentionTimer;
    qint64 retentionMs = DefaultRetentionMs;
    qint64 rawRetentionMs = DefaultRawRetentionMs;
    qint64 minuteRetentionMs = DefaultMinuteRetentionMs;
    TelemetryDatabase::Retention tiers() const
    {
        return tierRetention(retentionMs, rawRetentionMs, minuteRetentionMs);
    }
    qsizetype maxSamples = 0;

    // Samples older than the memory's tail handed to the writer: the cached ranges holding them
    // are read again once they are written.
    std::map<QString, std::pair<qint64, qint64>> dirty;
    // Counts open() and close(): a job that waited for the writer across one is for another file.
    quint64 session = 0;

    // The file and its writer thread, started by the first open(). Declared after what its
    // reports touch: destroyed first, its destructor stops the thread.
    TelemetryDatabase db;
    // The rows for the file, handed to the writer in batches.
    WriteQueue writes;
    // The file's samples, read as they come into view on a reader thread of their own; declared
    // last, stopped first.
    FileHistory history;

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

    // The device is heard of now: listed from now on, and in the file's devices table (again,
    // when the `seen` written last is SeenResolutionMs old). Like LED changes, always queued.
    void noteDevice(const QString &id)
    {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const auto it = known.find(id);
        if (it != known.end() && now - it->second < SeenResolutionMs)
            return;
        known[id] = now;
        // Without a file, open() queues what the file lacks.
        writes.addDevice(id, now);
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
            writes.dropLed([&](const PendingLed &r) { return r.device == device && r.t < cutoff; });
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
        writes.dropSamples([&](const PendingRow &r) { return r.device == id && r.t < newFirst; });
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
                    writes.addLed(id, c.t, c.on);
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

    // removeBefore(): memory, queued rows, LED changes and, with `fileSamples`, the file's
    // samples of every device (the retention timer leaves those to applyRetentionLater()).
    void dropBefore(qint64 cutoffMs, bool fileSamples)
    {
        for (auto &[id, s] : series)
            dropFront(id, s, s.countBefore(cutoffMs));
        if (fileSamples) {
            // The file's older samples (those of the memory went with dropFront()).
            QStringList older;
            for (const auto &entry : history.ranges()) {
                if (entry.second.first < cutoffMs)
                    older << entry.first;
            }
            for (const QString &id : std::as_const(older)) {
                history.clipBefore(id, cutoffMs);
                if (open)
                    db.deleteSamplesBeforeLater(id, cutoffMs);
                emit q->samplesRemoved(id);
            }
        }
        // Queued rows older than the cutoff go too.
        writes.dropSamples([&](const PendingRow &r) { return r.t < cutoffMs; });
        clipLed(cutoffMs);
    }

    // A sample older than the memory's tail (a device replaying an outage, or a late
    // delivery): written to the file, and shown once it is there. A copy of one the file has
    // cannot be told apart here; the file then holds it twice (the curve is the same).
    void replay(const QString &id, qint64 t, double v)
    {
        writes.addSample(id, t, v);
        markDirty(id, t, t);
    }

    // The cached ranges of `id` holding [lo, hi] are read again once what is handed to the
    // writer next is written (refreshDirtyLater()).
    void markDirty(const QString &id, qint64 lo, qint64 hi)
    {
        auto [it, made] = dirty.try_emplace(id, lo, hi);
        if (!made) {
            it->second.first = std::min(it->second.first, lo);
            it->second.second = std::max(it->second.second, hi);
        }
    }

    // --- reading the file ----------------------------------------------------------------

    qint64 retentionCutoff() const { return cutoffFor(retentionMs); }
    // Raw samples older than this are gone from the file (their tier's retention).
    qint64 rawCutoff() const { return cutoffFor(tiers().rawMs); }
    static qint64 cutoffFor(qint64 keepMs)
    {
        return keepMs > 0 ? QDateTime::currentMSecsSinceEpoch() - keepMs
                          : std::numeric_limits<qint64>::min();
    }

    // The memory lets go of samples older than `cutoff` that are in the file (called once the
    // writer has written everything handed over before): they are read from the file from now
    // on, and cached ranges that were read before they were written are read again.
    void trimTails(qint64 cutoff)
    {
        for (auto &[id, s] : series) {
            if (cutoff <= history.tailStart(id))
                continue;
            const qsizetype drop = s.countBefore(cutoff);
            std::optional<qint64> first;
            std::optional<Sample> last;
            if (drop > 0) {
                first = s.times().front();
                last = Sample{s.times()[size_t(drop - 1)], s.values()[size_t(drop - 1)]};
                // One still queued (a late sample that arrived after the writer was asked) is
                // not in the file yet: its range is read again once it is.
                if (writes.queued() > 0)
                    markDirty(id, *first, cutoff - 1);
                s.dropFront(drop);
            }
            history.tailMoved(id, cutoff, first, last);
        }
    }

    // After the writer has written the replayed samples handed over so far, their cached
    // ranges are read again.
    void refreshDirtyLater()
    {
        if (dirty.empty())
            return;
        auto ranges = std::move(dirty);
        dirty.clear();
        db.afterWritesLater([this, ranges = std::move(ranges), at = session](bool) {
            if (at != session)
                return;
            for (const auto &[id, range] : ranges)
                history.refresh(id, range.first, range.second + 1);
        });
    }
};

TelemetryStore::TelemetryStore(QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this))
{
    d->writes.setMaxPendingWrites(DefaultMaxPendingWrites);
    d->retentionTimer.setInterval(RetentionCheckMs);
    connect(&d->retentionTimer, &QTimer::timeout, this, [this] {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        // Memory and queued rows here; the file's rows per tier, in small steps, just below
        // (a DELETE per device here would repeat that work, every minute, for every device).
        if (d->retentionMs > 0)
            d->dropBefore(now - d->retentionMs, false);
        if (!d->open)
            return;
        // The file's summaries (TelemetryDatabase::open() starts them too) and its tiers'
        // retention, on the writer behind the deletes above.
        d->db.summarizeLater(now);
        d->db.applyRetentionLater(now, d->tiers());
        // The memory keeps the last few minutes; older samples are read from the file once the
        // writer has them (everything handed over before this point).
        d->writes.handOver();
        d->db.afterWritesLater(
            [this, cutoff = now - TailKeepMs, session = d->session](bool written) {
                if (written && d->open && session == d->session)
                    d->trimTails(cutoff);
            });
        d->history.pollUntil();
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
    const qint64 cutoff = d->retentionCutoff();
    // Reading runs on the writer thread (the connection lives there); open() waits for it. A
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
    d->writes.setOpen(true, path);
    ++d->session;
    d->history.open(path, std::move(file.ranges), std::move(file.until));
    // Samples appended before open() (or while closed): written unless the file has them (a
    // sample at or before the file's last of the device is looked up there).
    for (const auto &[id, s] : d->series) {
        const FileHistory::Range *f = d->history.range(id);
        std::vector<Sample> inFile;
        if (f && !s.isEmpty() && s.times().front() <= f->last.t) {
            d->history.reader().readSamples(id, s.times().front(), f->last.t + 1, &inFile, nullptr);
        }
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
                d->writes.addSample(id, t[i], v[i]); // within the backlog bound
        }
    }
    // From here on the memory holds what comes after each device's last sample in the file.
    for (const auto &entry : d->history.ranges()) {
        const QString &id = entry.first;
        bool created = false;
        d->seriesFor(id, &created);
        if (created)
            emit deviceAdded(id);
        emit historyLoaded(id);
    }
    d->mergeLoadedLed(file.led, cutoff);
    // Devices heard of before open() that the file does not list yet, then the file's.
    for (const auto &[id, seen] : d->known) {
        if (!file.devices.count(id))
            d->writes.addDevice(id, seen);
    }
    for (const auto &[id, seen] : file.devices) {
        qint64 &mine = d->known[id];
        mine = std::max(mine, seen);
    }
    // The file's samples older than the retention period go on the writer thread.
    if (d->retentionMs > 0)
        removeBefore(cutoff);
    d->writes.schedule();
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
    return d->writes.flush(error);
}

void TelemetryStore::close()
{
    if (!d->open)
        return;
    flush();
    d->history.close();
    d->db.close();
    d->open = false;
    ++d->session;
    // The file's samples are no longer at hand; the memory's stay.
    d->dirty.clear();
    // What could not be written is queued again by the next open() (it compares with the file).
    d->writes.setOpen(false);
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
    d->writes.setFlushInterval(ms);
}

int TelemetryStore::flushInterval() const
{
    return d->writes.flushInterval();
}

void TelemetryStore::setFlushBatchSize(int samples)
{
    d->writes.setFlushBatchSize(samples);
}

int TelemetryStore::flushBatchSize() const
{
    return d->writes.flushBatchSize();
}

qsizetype TelemetryStore::pendingWrites() const
{
    return d->writes.pendingWrites();
}

void TelemetryStore::setMaxPendingWrites(qsizetype rows)
{
    d->writes.setMaxPendingWrites(rows);
}

qsizetype TelemetryStore::maxPendingWrites() const
{
    return d->writes.maxPendingWrites();
}

qsizetype TelemetryStore::droppedWrites() const
{
    return d->writes.droppedWrites();
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

void TelemetryStore::setTierRetention(qint64 rawMs, qint64 minuteMs)
{
    d->rawRetentionMs = std::max<qint64>(1, rawMs);
    d->minuteRetentionMs = std::max<qint64>(d->rawRetentionMs, minuteMs);
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
    d->dropBefore(cutoffMs, true);
}

// --- writing -------------------------------------------------------------------------------

void TelemetryStore::append(const QString &deviceId, qint64 tMs, double value)
{
    if (!std::isfinite(value))
        return;
    d->noteDevice(deviceId);
    if (d->open && tMs < d->history.tailStart(deviceId)) {
        d->replay(deviceId, tMs, value);
        return;
    }
    bool created = false;
    SampleSeries &s = d->seriesFor(deviceId, &created);
    if (!s.insert(tMs, value))
        return; // a copy of a stored sample (QoS 1 redelivery)
    d->writes.addSample(deviceId, tMs, value);
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
    if (d->open) {
        // Those older than the memory's tail go to the file only.
        const qint64 from = d->history.tailStart(deviceId);
        const auto older = std::lower_bound(samples.begin(), samples.end(), from,
                                            [](const Sample &x, qint64 t) { return x.t < t; });
        for (auto it = samples.begin(); it != older; ++it)
            d->replay(deviceId, it->t, it->v);
        samples.erase(samples.begin(), older);
        if (samples.empty())
            return;
    }
    bool created = false;
    SampleSeries &s = d->seriesFor(deviceId, &created);
    const qsizetype added =
        s.merge(samples, [&](qint64 t, double v) { d->writes.addSample(deviceId, t, v); });
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
    d->writes.addLed(deviceId, tMs, on);
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
    d->writes.dropDevices(ofDevice);
    bool hadSamples = false;
    bool hadLed = false;
    if (deleteHistory) {
        hadSamples = d->series.erase(deviceId) > 0;
        // What the file held of it goes from the view at once too.
        hadSamples = d->history.forget(deviceId) || hadSamples;
        d->dirty.erase(deviceId);
        hadLed = d->led.erase(deviceId) > 0;
        d->writes.dropSamples(ofDevice);
        d->writes.dropLed(ofDevice);
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

qsizetype TelemetryStore::sampleCount(const QString &deviceId) const
{
    const SampleSeries *s = d->find(deviceId);
    qsizetype count = 0;
    const qint64 from = d->history.tailStart(deviceId);
    if (s)
        count = s->size() - s->countBefore(from);
    if (d->open && d->history.range(deviceId)) {
        // Wait for the writer, then count what it wrote before the memory's tail.
        d->writes.flush(nullptr);
        const qint64 inFile = d->history.reader().countSamples(deviceId, from, nullptr);
        count += qsizetype(std::max<qint64>(0, inFile));
    }
    return count;
}

std::optional<TelemetryStore::Sample> TelemetryStore::last(const QString &deviceId) const
{
    const SampleSeries *s = d->find(deviceId);
    std::optional<Sample> mine = s ? s->last() : std::nullopt;
    const FileHistory::Range *f = d->history.range(deviceId);
    if (f && (!mine || f->last.t > mine->t))
        return f->last;
    return mine;
}

std::optional<TelemetryStore::Range> TelemetryStore::timeRange(const QString &deviceId) const
{
    const SampleSeries *s = d->find(deviceId);
    std::optional<Range> range = s ? s->timeRange() : std::nullopt;
    if (const FileHistory::Range *f = d->history.range(deviceId)) {
        // The file's first sample, or the retention cutoff once it has passed it.
        const qint64 first = std::max(f->first, d->retentionCutoff());
        if (first <= f->last.t) {
            if (!range)
                range = Range{first, f->last.t};
            range->first = std::min(range->first, first);
            range->last = std::max(range->last, f->last.t);
        }
    }
    return range;
}

quint64 TelemetryStore::generation(const QString &deviceId) const
{
    const SampleSeries *s = d->find(deviceId);
    return (s ? s->generation() : 0) + d->history.generation(deviceId);
}

std::vector<TelemetryStore::Column> TelemetryStore::decimate(const QString &deviceId, qint64 t0Ms,
                                                             qint64 t1Ms, int columns) const
{
    const SampleSeries *s = d->find(deviceId);
    if (!s)
        return std::vector<Column>(size_t(std::max(0, columns)));
    std::vector<Column> mine = s->decimate(t0Ms, t1Ms, columns);
    const FileHistory::Range *f = d->history.range(deviceId);
    if (!d->open || !f || columns <= 0 || t1Ms <= t0Ms)
        return mine;
    // What the file holds before the memory's tail, within the retention period.
    const qint64 a = std::max({t0Ms, f->first, d->retentionCutoff()});
    const qint64 b = std::min({t1Ms, d->history.tailStart(deviceId), f->last.t + 1});
    if (a >= b)
        return mine;
    std::vector<Column> cols(static_cast<size_t>(columns));
    d->history.decimate(deviceId, t0Ms, t1Ms, a, b, d->rawCutoff(), cols);
    // The file's part comes first in time.
    for (size_t i = 0; i < cols.size(); ++i) {
        const Column &m = mine[i];
        if (!m.empty)
            cols[i].add(m.min, m.max, m.first, m.last, m.count);
    }
    return cols;
}

void TelemetryStore::forEachInRange(const QString &deviceId, qint64 t0Ms, qint64 t1Ms,
                                    const std::function<void(qint64, double)> &fn) const
{
    const SampleSeries *s = d->find(deviceId);
    const qint64 from = d->history.tailStart(deviceId);
    if (d->open && d->history.range(deviceId) && t0Ms < from && t0Ms <= t1Ms) {
        // The file's part: what was handed to the writer first, then read on the reader.
        d->writes.flush(nullptr);
        std::vector<Sample> older;
        const qint64 start = std::max(t0Ms, d->retentionCutoff());
        const qint64 end = std::min(endAfter(t1Ms), from);
        if (start < end)
            d->history.reader().readSamples(deviceId, start, end, &older, nullptr);
        for (const Sample &x : older)
            fn(x.t, x.v);
        if (s)
            s->forEachInRange(std::max(t0Ms, from), t1Ms, fn);
        return;
    }
    if (s)
        s->forEachInRange(t0Ms, t1Ms, fn);
}

qsizetype TelemetryStore::countInRange(const QString &deviceId, qint64 t0Ms, qint64 t1Ms) const
{
    if (d->open && d->history.range(deviceId)) {
        qsizetype count = 0;
        forEachInRange(deviceId, t0Ms, t1Ms, [&count](qint64, double) { ++count; });
        return count;
    }
    const SampleSeries *s = d->find(deviceId);
    return s ? s->countInRange(t0Ms, t1Ms) : 0;
}

std::optional<TelemetryStore::Sample> TelemetryStore::nearest(const QString &deviceId,
                                                              qint64 tMs) const
{
    const SampleSeries *s = d->find(deviceId);
    std::optional<Sample> best = s ? s->nearest(tMs) : std::nullopt;
    if (d->open && d->history.range(deviceId))
        best = d->history.nearest(deviceId, tMs, best);
    return best;
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

void TelemetryStore::exportCsvLater(const QString &fileName, const QString &deviceId, qint64 t0Ms,
                                    qint64 t1Ms, std::function<void(const QString &, qint64)> done)
{
    if (!d->open || !d->history.range(deviceId)) {
        // Everything is in memory: written here.
        QSaveFile file(fileName);
        QString error;
        qint64 rows = 0;
        const auto counted = [&](const std::function<void(qint64, double)> &sink) {
            forEachInRange(deviceId, t0Ms, t1Ms, [&](qint64 t, double v) {
                ++rows;
                sink(t, v);
            });
        };
        if (!file.open(QIODevice::WriteOnly | QIODevice::Text) ||
            !writeCsv(&file, deviceId, counted, &error) || !file.commit()) {
            if (error.isEmpty())
                error = file.errorString();
        }
        done(error, error.isEmpty() ? rows : 0);
        return;
    }
    // Everything appended so far goes to the file first; then the reader writes the CSV from it.
    const qint64 start = std::max(t0Ms, d->retentionCutoff());
    const qint64 end = endAfter(t1Ms);
    d->writes.handOver();
    auto shared = std::make_shared<std::function<void(const QString &, qint64)>>(std::move(done));
    const quint64 session = d->session;
    d->db.afterWritesLater([this, fileName, deviceId, start, end, shared, session](bool) {
        if (session != d->session) {
            (*shared)(QStringLiteral("the history was closed"), 0);
            return;
        }
        d->history.reader().exportCsvLater(fileName, deviceId, start, end, *shared);
    });
}

qsizetype TelemetryStore::memoryBytes(const QString &deviceId) const
{
    if (!deviceId.isEmpty()) {
        const SampleSeries *s = d->find(deviceId);
        return s ? s->memoryBytes() : 0;
    }
    qsizetype total = d->history.memoryBytes();
    for (const auto &entry : d->series)
        total += entry.second.memoryBytes();
    return total;
}

} // namespace nightlight
