using System.Collections.Concurrent;
using System.Diagnostics;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// Starts agents' processes from one dedicated thread that lives as long as the host. The drivers give each child
/// a parent-death signal (<c>setpriv --pdeathsig</c>, <c>bwrap --die-with-parent</c>), and Linux sends it when the
/// <em>thread</em> that forked the child ends, not the process: a child forked from a thread-pool thread would be
/// killed the moment the pool retired that thread.
/// </summary>
internal sealed class ProcessLauncher : IDisposable
{
    private readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Started)> _requests = new();

    public ProcessLauncher()
    {
        new Thread(Run) { IsBackground = true, Name = "hive-agent-launcher" }.Start();
    }

    public Task<Process> StartAsync(ProcessStartInfo info)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Add((info, started));
        return started.Task;
    }

    private void Run()
    {
        foreach (var (info, started) in _requests.GetConsumingEnumerable())
        {
            try
            {
                // Whatever was opened since start-up without close-on-exec (a library's descriptor) stays with the host.
                Hive.Shared.Native.InheritedDescriptors.MarkCloseOnExec();
                started.SetResult(Process.Start(info) ?? throw new DriverException($"{info.FileName} did not start"));
            }
            catch (Exception e)
            {
                started.SetException(e);
            }
        }
        // Ending here (the host is disposing) sends every child its parent-death signal: nothing outlives the host.
    }

    public void Dispose() => _requests.CompleteAdding();
}
