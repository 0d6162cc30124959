#pragma once

// DeviceProcess: one running nightlight-device (or any program taking its options) for the
// suites that watch the real binary (tst_nightlightdevice, tst_hadiscovery); its stderr is
// collected as it comes, and it dies with the test.

#include "childprocess.h"
#include "procstatus.h"

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>

class DeviceProcess
{
public:
    explicit DeviceProcess(QString program) : m_program(std::move(program)) { }
    DeviceProcess(const DeviceProcess &) = delete;
    DeviceProcess &operator=(const DeviceProcess &) = delete;
    ~DeviceProcess()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }

    // `wrapper`: a program that execs the device with its arguments (prlimit).
    bool start(const QStringList &args, const QStringList &wrapper = {})
    {
        QObject::connect(&m_process, &QProcess::readyReadStandardError,
                         [this] { m_stderr += m_process.readAllStandardError(); });
        dieWithTest(m_process);
        if (wrapper.isEmpty())
            m_process.start(m_program, args);
        else
            m_process.start(wrapper.first(), wrapper.mid(1) + QStringList{m_program} + args);
        return m_process.waitForStarted(5000);
    }
    qint64 peakRssKb() const { return ::peakRssKb(m_process.processId()); }
    QString log()
    {
        m_stderr += m_process.readAllStandardError();
        return QString::fromUtf8(m_stderr);
    }
    int countInLog(const QString &needle) { return int(log().count(needle)); }
    qint64 pid() const { return m_process.processId(); }
    QProcess &process() { return m_process; }

private:
    QString m_program;
    QProcess m_process;
    QByteArray m_stderr;
};
