// writeCsv on its own: the format of "Export CSV" and its write errors, from plain sample lists.

#include "csvexport.h"

#include <QBuffer>
#include <QFile>
#include <QTest>

#include <limits>
#include <vector>

using nightlight::writeCsv;

namespace {

constexpr qint64 T0 = 1795691651123; // 2026-11-26T11:14:11.123Z

struct Sample
{
    qint64 t;
    double v;
};

nightlight::CsvSampleSource from(const std::vector<Sample> &samples)
{
    return [samples](const std::function<void(qint64, double)> &sink) {
        for (const Sample &s : samples)
            sink(s.t, s.v);
    };
}

QByteArray csv(const QString &device, const std::vector<Sample> &samples)
{
    QBuffer buffer;
    if (!buffer.open(QIODevice::WriteOnly))
        return "cannot open the buffer";
    QString error;
    if (!writeCsv(&buffer, device, from(samples), &error))
        return error.toUtf8();
    return buffer.data();
}

} // namespace

class TestCsvExport : public QObject
{
    Q_OBJECT

private slots:
    void csvExport();
    void values_data();
    void values();
    void deviceIdsAreQuoted_data();
    void deviceIdsAreQuoted();
    void headerOnlyWithoutSamples();
    void largeExportIsWrittenWhole();
    void outputNotOpen();
    void writeErrorIsReported();
};

void TestCsvExport::csvExport()
{
    // The samples of the window TelemetryStore::exportCsv hands over (tst_telemetrystore checks
    // the window itself).
    QCOMPARE(csv(QStringLiteral("kitchen"), {{T0, 412}, {T0 + 877, 0.1}, {T0 + 3600000, 1e6}}),
             QByteArray("time_utc,device,light\n"
                        "2026-11-26T11:14:11.123Z,kitchen,412\n"
                        "2026-11-26T11:14:12.000Z,kitchen,0.1\n"
                        "2026-11-26T12:14:11.123Z,kitchen,1000000\n"));
}

void TestCsvExport::values_data()
{
    // The shortest text that reads back as the same double, never an exponent.
    QTest::addColumn<double>("value");
    QTest::addColumn<QByteArray>("text");
    QTest::newRow("zero") << 0.0 << QByteArray("0");
    QTest::newRow("an integer") << 412.0 << QByteArray("412");
    QTest::newRow("negative") << -50.25 << QByteArray("-50.25");
    QTest::newRow("0.1 (not 0.1000000000000000055)") << 0.1 << QByteArray("0.1");
    QTest::newRow("a million, no exponent") << 1e6 << QByteArray("1000000");
    QTest::newRow("tiny, no exponent") << 1.5e-7 << QByteArray("0.00000015");
    QTest::newRow("many digits") << 123456.789012 << QByteArray("123456.789012");
}

void TestCsvExport::values()
{
    QFETCH(double, value);
    QFETCH(QByteArray, text);
    QCOMPARE(csv(QStringLiteral("d"), {{T0, value}}),
             "time_utc,device,light\n2026-11-26T11:14:11.123Z,d," + text + '\n');
}

void TestCsvExport::deviceIdsAreQuoted_data()
{
    QTest::addColumn<QString>("device");
    QTest::addColumn<QByteArray>("field");
    QTest::newRow("plain") << QStringLiteral("kitchen") << QByteArray("kitchen");
    QTest::newRow("a comma") << QStringLiteral("a,b") << QByteArray("\"a,b\"");
    QTest::newRow("a quote") << QStringLiteral("say \"hi\"") << QByteArray("\"say \"\"hi\"\"\"");
    QTest::newRow("a line break") << QStringLiteral("a\nb") << QByteArray("\"a\nb\"");
    QTest::newRow("non-ASCII, as UTF-8")
        << QStringLiteral("রান্নাঘর") << QStringLiteral("রান্নাঘর").toUtf8();
}

void TestCsvExport::deviceIdsAreQuoted()
{
    QFETCH(QString, device);
    QFETCH(QByteArray, field);
    QCOMPARE(csv(device, {{T0, 1}}),
             "time_utc,device,light\n2026-11-26T11:14:11.123Z," + field + ",1\n");
}

void TestCsvExport::headerOnlyWithoutSamples()
{
    QCOMPARE(csv(QStringLiteral("d"), {}), QByteArray("time_utc,device,light\n"));
    // Before 1970 and on a whole second: still UTC with milliseconds.
    QCOMPARE(csv(QStringLiteral("d"), {{-1000, 1}}),
             QByteArray("time_utc,device,light\n1969-12-31T23:59:59.000Z,d,1\n"));
}

void TestCsvExport::largeExportIsWrittenWhole()
{
    // Written in chunks of about 64 KiB: every line arrives, in order.
    std::vector<Sample> samples;
    for (int i = 0; i < 20000; ++i)
        samples.push_back({T0 + i * 1000, double(i)});
    const QByteArray out = csv(QStringLiteral("kitchen"), samples);
    QVERIFY(out.size() > 4 * 64 * 1024);
    const QList<QByteArray> lines = out.split('\n');
    QCOMPARE(lines.size(), 20000 + 2); // header, samples, and the empty text after the last '\n'
    QCOMPARE(lines.at(1), QByteArray("2026-11-26T11:14:11.123Z,kitchen,0"));
    QCOMPARE(lines.at(20000), QByteArray("2026-11-26T16:47:30.123Z,kitchen,19999"));
    QVERIFY(lines.last().isEmpty());
}

void TestCsvExport::outputNotOpen()
{
    QBuffer closed;
    QString error;
    bool read = false;
    QVERIFY(!writeCsv(
        &closed, QStringLiteral("d"),
        [&](const std::function<void(qint64, double)> &) { read = true; }, &error));
    QCOMPARE(error, QStringLiteral("the CSV output is not open for writing"));
    QVERIFY(!read);
    QVERIFY(!writeCsv(nullptr, QStringLiteral("d"), from({}), &error));
    QBuffer readOnly;
    QVERIFY(readOnly.open(QIODevice::ReadOnly));
    QVERIFY(!writeCsv(&readOnly, QStringLiteral("d"), from({}), nullptr));
}

void TestCsvExport::writeErrorIsReported()
{
    // /dev/full fails every write with ENOSPC ("No space left on device").
    QFile full(QStringLiteral("/dev/full"));
    if (!full.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        QSKIP("no /dev/full here");
    QString error;
    int asked = 0;
    std::vector<Sample> samples;
    for (int i = 0; i < 20000; ++i)
        samples.push_back({T0 + i, double(i)});
    const auto source = [&](const std::function<void(qint64, double)> &sink) {
        for (const Sample &s : samples) {
            ++asked;
            sink(s.t, s.v);
        }
    };
    QVERIFY(!writeCsv(&full, QStringLiteral("d"), source, &error));
    QVERIFY2(error.startsWith(QStringLiteral("cannot write CSV: ")), qPrintable(error));
    QCOMPARE(asked, 20000); // the source is read to its end, the lines after the error not made
}

QTEST_GUILESS_MAIN(TestCsvExport)
#include "tst_csvexport.moc"
