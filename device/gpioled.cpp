#include "gpioled.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QStringList>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <optional>

#include <gpiod.h>

// libgpiod 2.x replaced the whole API (chips, line requests, settings objects); CMake defines
// NIGHTLIGHT_GPIOD_V2 when pkg-config finds libgpiod >= 2. Everything version-specific lives in
// the small "chip access" section below; the rest of the file is shared.

namespace nightlight {

namespace {

Q_LOGGING_CATEGORY(lcGpio, "nightlight.gpio", QtInfoMsg)

constexpr char Consumer[] = "nightlight";

QString errnoText(int error)
{
    return qt_error_string(error);
}

// The hint that turns an errno from opening a chip into something a person can act on.
QString openHint(int error)
{
    switch (error) {
    case EACCES:
    case EPERM:
        return QStringLiteral(
            " (add the user to the gpio group: `sudo usermod -aG gpio $USER`, then log in "
            "again)");
    default:
        return {};
    }
}

// /dev/gpiochip* in numeric order (gpiochip2 before gpiochip10).
QStringList chipPaths()
{
    const QDir dev(QStringLiteral("/dev"));
    QStringList names = dev.entryList({QStringLiteral("gpiochip*")},
                                      QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot);
    const auto number = [](const QString &name) {
        return name.mid(8).toInt();
    };
    std::sort(names.begin(), names.end(),
              [&](const QString &a, const QString &b) { return number(a) < number(b); });
    QStringList paths;
    for (const QString &name : std::as_const(names)) {
        paths << dev.filePath(name);
    }
    return paths;
}

QString chipsHereText()
{
    QStringList names;
    for (const QString &path : chipPaths()) {
        names << QFileInfo(path).fileName();
    }
    return names.isEmpty()
        ? QStringLiteral("no GPIO chips in /dev: is this a Raspberry Pi?")
        : QStringLiteral("GPIO chips here: %1").arg(names.join(QStringLiteral(", ")));
}

// ---- chip access, v1 or v2 ---------------------------------------------------------------

// A C handle in a std::unique_ptr the moment it is made, freed by its own function (as
// libgpiod's C++ bindings do it): Handle<gpiod_chip, gpiod_chip_close>.
template<class T, void (*Free)(T *)>
struct HandleFree
{
    void operator()(T *handle) const { Free(handle); }
};
template<class T, void (*Free)(T *)>
using Handle = std::unique_ptr<T, HandleFree<T, Free>>;

using ChipPtr = Handle<gpiod_chip, gpiod_chip_close>;

#if NIGHTLIGHT_GPIOD_V2
using LineHandle = Handle<gpiod_line_request, gpiod_line_request_release>;
#else
// v1: the gpiod_line belongs to its chip; releasing gives up our request of it.
using LineHandle = Handle<gpiod_line, gpiod_line_release>;
#endif

struct Chip
{
    ChipPtr handle;
    QString path;
    QString name; // kernel name, "gpiochip0"
    QString label; // "pinctrl-bcm2711"
    unsigned int lineCount = 0;

    QString displayName() const { return name.isEmpty() ? path : name; }
};

std::optional<Chip> openChip(const QString &path, QString *error)
{
    const QByteArray native = QFile::encodeName(path);
    errno = 0;
    ChipPtr handle(gpiod_chip_open(native.constData()));
    if (!handle) {
        const int openError = errno ? errno : ENODEV;
        if (openError == ENOTTY || openError == ENODEV || openError == EINVAL) {
            // libgpiod opened the file but it is not a GPIO character device.
            *error = QStringLiteral("cannot open GPIO chip %1: not a GPIO chip (%2)")
                         .arg(path, errnoText(openError));
        } else if (openError == ENOENT) {
            *error = QStringLiteral("cannot open GPIO chip %1: %2 (%3)")
                         .arg(path, errnoText(openError), chipsHereText());
        } else {
            *error = QStringLiteral("cannot open GPIO chip %1: %2%3")
                         .arg(path, errnoText(openError), openHint(openError));
        }
        return std::nullopt;
    }
    Chip chip;
    chip.path = path;
#if NIGHTLIGHT_GPIOD_V2
    Handle<gpiod_chip_info, gpiod_chip_info_free> info(gpiod_chip_get_info(handle.get()));
    if (!info) {
        *error = QStringLiteral("cannot read GPIO chip %1: %2").arg(path, errnoText(errno));
        return std::nullopt;
    }
    chip.name = QString::fromUtf8(gpiod_chip_info_get_name(info.get()));
    chip.label = QString::fromUtf8(gpiod_chip_info_get_label(info.get()));
    chip.lineCount = static_cast<unsigned int>(gpiod_chip_info_get_num_lines(info.get()));
#else
    chip.name = QString::fromUtf8(gpiod_chip_name(handle.get()));
    chip.label = QString::fromUtf8(gpiod_chip_label(handle.get()));
    chip.lineCount = gpiod_chip_num_lines(handle.get());
#endif
    chip.handle = std::move(handle);
    return chip;
}

// The offset of the line called `name` on the chip, or -1.
int findLine(Chip &chip, const QString &name)
{
    const QByteArray utf8 = name.toUtf8();
#if NIGHTLIGHT_GPIOD_V2
    return gpiod_chip_get_line_offset_from_name(chip.handle.get(), utf8.constData());
#else
    gpiod_line *line = gpiod_chip_find_line(chip.handle.get(), utf8.constData());
    return line ? static_cast<int>(gpiod_line_offset(line)) : -1;
#endif
}

// Who holds the line, if anyone: std::nullopt when it is free, else the consumer (may be empty).
std::optional<QString> lineConsumer(Chip &chip, unsigned int offset)
{
#if NIGHTLIGHT_GPIOD_V2
    Handle<gpiod_line_info, gpiod_line_info_free> info(
        gpiod_chip_get_line_info(chip.handle.get(), offset));
    if (!info || !gpiod_line_info_is_used(info.get())) {
        return std::nullopt;
    }
    const char *consumer = gpiod_line_info_get_consumer(info.get());
#else
    gpiod_line *line = gpiod_chip_get_line(chip.handle.get(), offset);
    if (!line || !gpiod_line_is_used(line)) {
        return std::nullopt;
    }
    const char *consumer = gpiod_line_consumer(line);
#endif
    return consumer ? QString::fromUtf8(consumer) : QString();
}

// Requests the line as an output driven low. Empty handle with errno set on failure.
LineHandle requestOutput(Chip &chip, unsigned int offset)
{
#if NIGHTLIGHT_GPIOD_V2
    Handle<gpiod_line_settings, gpiod_line_settings_free> settings(gpiod_line_settings_new());
    Handle<gpiod_line_config, gpiod_line_config_free> lineConfig(gpiod_line_config_new());
    Handle<gpiod_request_config, gpiod_request_config_free> requestConfig(
        gpiod_request_config_new());
    if (!settings || !lineConfig || !requestConfig) {
        return {};
    }
    if (gpiod_line_settings_set_direction(settings.get(), GPIOD_LINE_DIRECTION_OUTPUT) < 0 ||
        gpiod_line_settings_set_output_value(settings.get(), GPIOD_LINE_VALUE_INACTIVE) < 0 ||
        gpiod_line_config_add_line_settings(lineConfig.get(), &offset, 1, settings.get()) < 0) {
        return {};
    }
    gpiod_request_config_set_consumer(requestConfig.get(), Consumer);
    return LineHandle(
        gpiod_chip_request_lines(chip.handle.get(), requestConfig.get(), lineConfig.get()));
#else
    gpiod_line *line = gpiod_chip_get_line(chip.handle.get(), offset);
    if (!line || gpiod_line_request_output(line, Consumer, 0) < 0) {
        return {};
    }
    return LineHandle(line);
#endif
}

// 0 on success, -1 with errno set.
int setLineValue(const LineHandle &line, unsigned int offset, bool on)
{
#if NIGHTLIGHT_GPIOD_V2
    return gpiod_line_request_set_value(line.get(), offset,
                                        on ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
#else
    Q_UNUSED(offset)
    return gpiod_line_set_value(line.get(), on ? 1 : 0);
#endif
}

// ---- end of chip access ------------------------------------------------------------------

bool setError(QString *error, const QString &message)
{
    if (error) {
        *error = message;
    }
    return false;
}

// Opens the chips one after the other and returns the first that `matches`; those that cannot be
// opened add why to `failures`.
std::optional<Chip> firstChip(const std::function<bool(Chip &)> &matches, QStringList *failures)
{
    for (const QString &path : chipPaths()) {
        QString openError;
        auto candidate = openChip(path, &openError);
        if (!candidate) {
            *failures << openError;
            continue;
        }
        if (matches(*candidate)) {
            return candidate;
        }
    }
    return std::nullopt;
}

// The chip the user named, however they named it.
std::optional<Chip> resolveChip(const QString &chip, QString *error)
{
    static const QRegularExpression kernelName(QStringLiteral("^gpiochip\\d+$"));
    static const QRegularExpression number(QStringLiteral("^\\d+$"));
    if (chip.startsWith(QLatin1Char('/'))) {
        return openChip(chip, error);
    }
    if (kernelName.match(chip).hasMatch()) {
        return openChip(QStringLiteral("/dev/") + chip, error);
    }
    if (number.match(chip).hasMatch()) {
        return openChip(QStringLiteral("/dev/gpiochip") + chip, error);
    }
    // A label: the only way is to open every chip and compare.
    QStringList seen;
    QStringList failures;
    auto labelled = firstChip(
        [&](Chip &candidate) {
            if (candidate.label == chip) {
                return true;
            }
            seen << QStringLiteral("%1 \"%2\"").arg(candidate.name, candidate.label);
            return false;
        },
        &failures);
    if (labelled) {
        return labelled;
    }
    QString message = QStringLiteral("no GPIO chip is named or labelled \"%1\"").arg(chip);
    if (!seen.isEmpty()) {
        message += QStringLiteral(" (chips here: %1)").arg(seen.join(QStringLiteral(", ")));
    } else if (failures.isEmpty()) {
        message += QStringLiteral(" (%1)").arg(chipsHereText());
    }
    if (!failures.isEmpty()) {
        message += QStringLiteral("; ") + failures.join(QStringLiteral("; "));
    }
    *error = message;
    return std::nullopt;
}

} // namespace

struct GpioLed::Private
{
    // Declared before the line: members go in reverse order, so the line is released first and
    // the chip closed last.
    Chip chip;
    LineHandle line;
    unsigned int offset = 0;
    bool on = false;

    ~Private()
    {
        if (line && setLineValue(line, offset, false) < 0) {
            qCWarning(lcGpio, "cannot switch GPIO line %u on %s off: %s", offset,
                      qPrintable(chip.displayName()), qPrintable(errnoText(errno)));
        }
    }
};

GpioLed::GpioLed(std::unique_ptr<Private> d, QObject *parent) : Led(parent), d(std::move(d)) { }

GpioLed::~GpioLed() = default;

std::unique_ptr<GpioLed> GpioLed::open(const QString &chip, int line, QString *error)
{
    QString message;
    if (line < 0) {
        setError(error,
                 QStringLiteral("invalid GPIO line %1: lines are numbered from 0").arg(line));
        return nullptr;
    }

    std::optional<Chip> found;
    unsigned int offset = static_cast<unsigned int>(line);
    if (chip.isEmpty()) {
        // Raspberry Pi kernels name the header pins "GPIO<n>" (on the Pi 5 they live on the RP1
        // chip, which is not gpiochip0 on every kernel), so look the line up by name.
        const QString lineName = QStringLiteral("GPIO%1").arg(line);
        QStringList failures;
        found = firstChip(
            [&](Chip &candidate) {
                const int at = findLine(candidate, lineName);
                if (at >= 0) {
                    offset = static_cast<unsigned int>(at);
                    return true;
                }
                return false;
            },
            &failures);
        if (!found) {
            message = QStringLiteral("no GPIO chip has a line named %1 (is this a Raspberry Pi? "
                                     "give --gpio-chip)")
                          .arg(lineName);
            if (!failures.isEmpty()) {
                message += QStringLiteral("; ") + failures.join(QStringLiteral("; "));
            }
            setError(error, message);
            return nullptr;
        }
    } else {
        found = resolveChip(chip, &message);
        if (!found) {
            setError(error, message);
            return nullptr;
        }
    }

    if (offset >= found->lineCount) {
        setError(error,
                 QStringLiteral("GPIO chip %1 (%2) has %3 lines (0..%4): line %5 does not exist")
                     .arg(found->displayName(), found->label)
                     .arg(found->lineCount)
                     .arg(static_cast<int>(found->lineCount) - 1)
                     .arg(offset));
        return nullptr;
    }

    const auto inUse = [&](const QString &consumer) {
        return QStringLiteral("GPIO line %1 on %2 is in use by %3")
            .arg(offset)
            .arg(found->displayName(),
                 consumer.isEmpty() ? QStringLiteral("another program or a kernel driver")
                                    : consumer);
    };
    if (const auto consumer = lineConsumer(*found, offset)) {
        setError(error, inUse(*consumer));
        return nullptr;
    }

    errno = 0;
    LineHandle handle = requestOutput(*found, offset);
    if (!handle) {
        const int requestError = errno ? errno : EIO;
        if (requestError == EBUSY) {
            // Taken between our look and our request.
            setError(error, inUse(lineConsumer(*found, offset).value_or(QString())));
        } else {
            setError(error,
                     QStringLiteral("cannot request GPIO line %1 on %2 as an output: %3")
                         .arg(offset)
                         .arg(found->displayName(), errnoText(requestError)));
        }
        return nullptr;
    }

    auto d = std::make_unique<Private>();
    d->chip = std::move(*found);
    d->line = std::move(handle);
    d->offset = offset;
    qCInfo(lcGpio, "LED on GPIO line %u of %s (%s)", offset, qPrintable(d->chip.displayName()),
           qPrintable(d->chip.label));
    return std::make_unique<GpioLed>(std::move(d));
}

void GpioLed::setOn(bool on)
{
    if (setLineValue(d->line, d->offset, on) < 0) {
        const int setError = errno;
        emit failed(QStringLiteral("cannot set GPIO line %1 on %2: %3")
                        .arg(d->offset)
                        .arg(d->chip.displayName(), errnoText(setError)));
        return;
    }
    d->on = on;
}

bool GpioLed::isOn() const
{
    return d->on;
}

QString GpioLed::chipName() const
{
    return d->chip.displayName();
}

int GpioLed::line() const
{
    return static_cast<int>(d->offset);
}

} // namespace nightlight
