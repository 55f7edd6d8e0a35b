using System.Text;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// An agent's stdout and stderr, interleaved as they come, in <c>&lt;logs&gt;/output.log</c>; past the size cap the file
/// becomes <c>output.log.1</c> (replacing the previous one) and a new one starts, so a chatty agent holds at most two
/// files' worth on disk.
/// </summary>
internal sealed class AgentLog : IAsyncDisposable
{
    public const string FileName = "output.log";
    private readonly string _path;
    private readonly long _cap;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private FileStream _file;

    public AgentLog(string logDir, long cap)
    {
        Directory.CreateDirectory(logDir);
        _path = Path.Combine(logDir, FileName);
        _cap = Math.Max(4096, cap);
        _file = OpenAppend(_path);
    }

    /// <summary>Copies a stream (a pipe from the child) into the log until it ends.</summary>
    public async Task PumpAsync(Stream source)
    {
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer)) > 0) await WriteAsync(buffer.AsMemory(0, read));
        }
        catch (IOException)
        {
            // The pipe broke: the process is gone.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public Task NoteAsync(string line) => WriteAsync(Encoding.UTF8.GetBytes($"[hive] {line}\n"));

    private async Task WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        await _lock.WaitAsync();
        try
        {
            if (_file.Length + bytes.Length > _cap && _file.Length > 0)
            {
                await _file.DisposeAsync();
                File.Move(_path, _path + ".1", overwrite: true);
                _file = OpenAppend(_path);
            }
            await _file.WriteAsync(bytes);
            await _file.FlushAsync();
        }
        finally
        {
            _lock.Release();
        }
    }

    private static FileStream OpenAppend(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.Append,
        Access = FileAccess.Write,
        Share = FileShare.ReadWrite | FileShare.Delete,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
    });

    /// <summary>The last <paramref name="lines"/> lines of the log (the rotated file first, when needed).</summary>
    public static string Tail(string logDir, int lines)
    {
        var path = Path.Combine(logDir, FileName);
        var taken = new List<string>();
        foreach (var file in new[] { path, path + ".1" })
        {
            if (taken.Count >= lines || !File.Exists(file)) continue;
            string text;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var reader = new StreamReader(stream, Encoding.UTF8))
                text = reader.ReadToEnd();
            var fileLines = text.Split('\n');
            var count = text.EndsWith('\n') ? fileLines.Length - 1 : fileLines.Length;
            for (var i = count - 1; i >= 0 && taken.Count < lines; i--) taken.Add(fileLines[i]);
        }
        taken.Reverse();
        return taken.Count == 0 ? "" : string.Join('\n', taken) + "\n";
    }

    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync();
        try { await _file.DisposeAsync(); }
        finally { _lock.Release(); }
    }
}
