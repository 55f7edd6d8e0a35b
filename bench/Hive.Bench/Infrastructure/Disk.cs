using System.Diagnostics;

namespace Hive.Bench.Infrastructure;

/// <summary>
/// The shared machines' gotcha (STYLE.md): flush everyone's dirty pages and let the disk settle before each
/// fsync-heavy case, so one case does not pay for the previous one's writeback.
/// </summary>
public static class Disk
{
    private static bool _warned;

    public static async Task SettleAsync(TimeSpan? pause = null)
    {
        try
        {
            using var sync = Process.Start(new ProcessStartInfo("sync") { UseShellExecute = false });
            if (sync is not null) await sync.WaitForExitAsync();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            if (!_warned) Console.Error.WriteLine($"warning: could not run sync ({e.Message}); pausing only");
            _warned = true;
        }
        await Task.Delay(pause ?? TimeSpan.FromSeconds(1));
    }
}
