// nightlight-dashboard: parses the command line, loads the translation, shows MainWindow.
// Exit codes: 0 after File > Quit, closing the window, SIGTERM, SIGINT or SIGHUP; 2 bad options
// or a --database that cannot be opened. With --bench-report FILE, SIGUSR1 writes the report.

#include "benchreport.h"
#include "dashboardoptions.h"
#include "ledcontrol.h"
#include "mainwindow.h"
#include "signalwatcher.h"
#include "telemetrystore.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QLibraryInfo>
#include <QLocale>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>
#include <QTextStream>
#include <QTimer>
#include <QTranslator>

#include <csignal>
#include <cstdio>
#include <memory>

using namespace nightlight;

namespace {

QPalette darkPalette()
{
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x31);
    const QColor base(0x1e, 0x1f, 0x22);
    const QColor text(0xe8, 0xe8, 0xe8);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9a, 0x9a));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, QColor(0x3a, 0x3c, 0x41));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Light, QColor(0x4a, 0x4c, 0x52));
    p.setColor(QPalette::Midlight, QColor(0x40, 0x42, 0x47));
    p.setColor(QPalette::Mid, QColor(0x30, 0x32, 0x36));
    p.setColor(QPalette::Dark, QColor(0x18, 0x19, 0x1b));
    p.setColor(QPalette::Shadow, Qt::black);
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x8e, 0xe0));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x6c, 0xb4, 0xff));
    p.setColor(QPalette::LinkVisited, QColor(0xb0, 0x8c, 0xff));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, QColor(0x80, 0x80, 0x80));
    return p;
}

// --screenshot: grab the window once the chart shows a few seconds of data and the LED state is
// known (or after 30 s in any case), then quit.
void scheduleScreenshot(MainWindow *window, const QString &path)
{
    auto *timer = new QTimer(window);
    auto *elapsed = new QElapsedTimer;
    elapsed->start();
    QObject::connect(timer, &QTimer::timeout, window, [window, path, timer, elapsed] {
        const QString id = window->currentDevice();
        const auto range = window->store()->timeRange(id);
        const bool ready =
            range && range->last - range->first >= 20000 && window->ledControl()->hasState();
        if (!ready && elapsed->elapsed() < 30000)
            return;
        timer->stop();
        delete elapsed;
        const bool ok = window->grab().save(path);
        std::fprintf(ok ? stdout : stderr, "%s %s\n", ok ? "saved" : "cannot save",
                     qPrintable(path));
        QCoreApplication::exit(ok ? 0 : 1);
    });
    timer->start(200);
}

// True when `arguments` may hold options for QApplication itself (-platform, -style, ...), which
// only QApplication's constructor takes out: ours are all --long, besides -h and -v.
bool mayHoldQtOptions(const QStringList &arguments)
{
    for (const QString &a : arguments.mid(1)) {
        if (a.startsWith(u'-') && !a.startsWith(QLatin1String("--")) && a != QLatin1String("-h") &&
            a != QLatin1String("-v") && a != QLatin1String("-?"))
            return true;
    }
    return false;
}

int reportOutcome(DashboardOptions::Outcome outcome, const DashboardOptions &options)
{
    if (outcome == DashboardOptions::Outcome::Exit) {
        QTextStream(stdout) << options.message() << Qt::endl;
        return 0;
    }
    QTextStream(stderr) << QCoreApplication::applicationName() << ": " << options.message()
                        << Qt::endl
                        << "Try --help." << Qt::endl;
    return 2;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication::setApplicationName(QStringLiteral("nightlight-dashboard"));
    QCoreApplication::setApplicationVersion(QStringLiteral(NIGHTLIGHT_VERSION));
    QCoreApplication::setOrganizationName(QStringLiteral("nightlight"));

    // --help, --version and bad values are answered before QApplication looks for a display, so
    // they work on a headless machine too.
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments << QString::fromLocal8Bit(argv[i]);
    DashboardOptions options;
    auto outcome = options.parse(arguments);
    if (outcome == DashboardOptions::Outcome::Exit ||
        (outcome == DashboardOptions::Outcome::Error && !mayHoldQtOptions(arguments)))
        return reportOutcome(outcome, options);

    QApplication app(argc, argv);
    QApplication::setDesktopFileName(QStringLiteral("nightlight-dashboard"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/nightlight.svg")));

    options = DashboardOptions();
    outcome = options.parse(QCoreApplication::arguments());
    if (outcome != DashboardOptions::Outcome::Run)
        return reportOutcome(outcome, options);

    // Language: --lang, else the system locale. Qt's own strings (dialog buttons) too.
    const QLocale locale =
        options.language.isEmpty() ? QLocale::system() : QLocale(options.language);
    if (!options.language.isEmpty())
        QLocale::setDefault(locale);
    QTranslator qtTranslator;
    if (qtTranslator.load(locale, QStringLiteral("qtbase"), QStringLiteral("_"),
                          QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QCoreApplication::installTranslator(&qtTranslator);
    QTranslator translator;
    if (translator.load(locale, QStringLiteral("nightlight"), QStringLiteral("_"),
                        QStringLiteral(":/i18n")))
        QCoreApplication::installTranslator(&translator);

    if (!options.palette.isEmpty()) {
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QApplication::setPalette(options.palette == QLatin1String("dark")
                                     ? darkPalette()
                                     : QApplication::style()->standardPalette());
    }

    // From here a signal waits for the event loop instead of killing the process (it would lose
    // the samples not yet written and the window's settings). SIGHUP: the terminal it was started
    // from closed.
    // SIGUSR1 only with --bench-report: otherwise it keeps its default (the process ends).
    SignalWatcher signalWatcher;
    QList<int> watched = {SIGTERM, SIGINT, SIGHUP};
    if (!options.benchReportPath.isEmpty())
        watched << SIGUSR1;
    if (!signalWatcher.watch(watched)) {
        std::fprintf(stderr, "nightlight-dashboard: %s (SIGTERM and SIGINT will not save)\n",
                     qUtf8Printable(signalWatcher.errorString()));
    }

    MainWindow window(options);
    // A history database named on the command line must work: the user asked for that file, and
    // a dashboard that silently keeps history only in memory would lose it (docs/dashboard.md).
    // Without --database the window says so and goes on (the default location is ours).
    if (!options.databasePath.isEmpty() && !window.store()->isOpen()) {
        std::fprintf(stderr, "nightlight-dashboard: cannot open history database %s: %s\n",
                     qUtf8Printable(options.databasePath),
                     qUtf8Printable(window.store()->openError()));
        return 2;
    }
    // As File > Quit: closeEvent saves the settings, decodes what is queued and flushes the
    // store. exit() also ends a modal dialog's event loop, so nothing waits for the user.
    std::unique_ptr<BenchReport> benchReport;
    if (!options.benchReportPath.isEmpty())
        benchReport = std::make_unique<BenchReport>(options.benchReportPath, &window);
    QObject::connect(&signalWatcher, &SignalWatcher::signalReceived, &window,
                     [&window, &benchReport](int signalNumber) {
                         if (signalNumber == SIGUSR1) {
                             if (benchReport)
                                 benchReport->write();
                             return;
                         }
                         window.close();
                         QCoreApplication::exit(0);
                     });
    window.show();
    if (!options.screenshotPath.isEmpty())
        scheduleScreenshot(&window, options.screenshotPath);
    const int exitCode = app.exec();
    // After closeEvent decoded what was queued: the list as it was at the end.
    if (benchReport)
        benchReport->write();
    return exitCode;
}
