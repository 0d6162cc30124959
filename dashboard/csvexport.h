#pragma once

// writeCsv: a device's samples as CSV, the dashboard's "Export CSV" format. A free function: it
// knows nothing of where the samples come from (TelemetryStore::exportCsv hands it a window of
// one device's series).

#include <QString>

#include <functional>

class QIODevice;

namespace nightlight {

// Calls `sink(t, v)` for every sample to write, in the order to write them (t in ms since the
// epoch, UTC).
using CsvSampleSource = std::function<void(const std::function<void(qint64, double)> &sink)>;

// Writes "time_utc,device,light\n" then one line per sample of `samples`, e.g.
// "2026-11-26T11:14:11.123Z,kitchen,412\n" (ISO 8601 UTC with ms; the shortest exact value, no
// exponent; a device id with a comma, quote or line break quoted as RFC 4180 says). `out` must be
// open for writing (else false and "the CSV output is not open for writing", nothing read).
// Written in chunks of about 64 KiB; false and *error ("cannot write CSV: <reason>") on a write
// error, after which no more samples are formatted.
bool writeCsv(QIODevice *out, const QString &deviceId, const CsvSampleSource &samples,
              QString *error = nullptr);

} // namespace nightlight
