using System.Security.Cryptography;
using Hive.Shared.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Hive.Features.Forge.Webhooks;

/// <summary>
/// A webhook's headers (Forgejo's names, else Gitea's) and its raw body, as signed: read to a cap with its HMAC taken as
/// it arrives, so that what a stranger's post makes the host hold is bounded and given back.
/// </summary>
internal static class WebhookBody
{
    /// <summary>Bytes of a body held in memory; the rest goes to an unlinked 0600 temp file (no large buffer per post).</summary>
    public const int InMemoryBytes = 64 * 1024;

    /// <summary>The read buffer: below the large-object heap's threshold, so it dies young with the request.</summary>
    private const int ChunkBytes = 16 * 1024;

    /// <summary><c>X-Forgejo-&lt;name&gt;</c>, else <c>X-Gitea-&lt;name&gt;</c> (Forgejo sends both; Gitea only its own); one value or none.</summary>
    public static string? Header(HttpRequest request, string name)
    {
        var values = request.Headers[$"X-Forgejo-{name}"];
        if (values.Count == 0) values = request.Headers[$"X-Gitea-{name}"];
        return values.Count == 1 ? values[0] : null;
    }

    /// <summary>How long a delivery's body may take to arrive: a stranger trickling one in holds no buffer for long.</summary>
    public static readonly TimeSpan ReadWithin = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The body, at most <paramref name="cap"/> bytes, its HMAC taken with <paramref name="mac"/> as the bytes arrive: a
    /// claimed length over the cap is a 413 before anything is read, and a body that turns out longer (a chunked one claims
    /// nothing) is a 413 as soon as the byte past the cap arrives. At most <see cref="InMemoryBytes"/> of it is held in
    /// memory; the whole body must arrive within <see cref="ReadWithin"/>.
    /// </summary>
    public static async Task<ReceivedBody> ReadAsync(HttpRequest request, int cap, IncrementalHash mac)
    {
        if (request.ContentLength > cap) throw new TooLargeException($"the body is over {cap} bytes");
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = cap + 1L;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(request.HttpContext.RequestAborted);
        deadline.CancelAfter(ReadWithin);
        var chunk = new byte[ChunkBytes];
        var body = new ReceivedBody();
        try
        {
            while (true)
            {
                var n = await request.Body.ReadAsync(chunk, deadline.Token);
                if (n == 0) break;
                if (body.Length + n > cap) throw new TooLargeException($"the body is over {cap} bytes");
                mac.AppendData(chunk, 0, n);
                body.Append(chunk.AsSpan(0, n));
            }
            body.Mac = mac.GetHashAndReset();
            return body;
        }
        catch (OperationCanceledException) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            body.Dispose();
            throw new BadRequestException($"the body did not arrive within {ReadWithin.TotalSeconds:0} s");
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }
}

/// <summary>
/// A delivery's body as received: its HMAC (<see cref="Mac"/>), its first <see cref="WebhookBody.InMemoryBytes"/> in memory
/// and the rest in a temp file that has no name (unlinked once open), so nothing is left behind whatever happens.
/// </summary>
public sealed class ReceivedBody : IDisposable
{
    private readonly MemoryStream _head = new();
    private FileStream? _tail;

    public long Length => _head.Length + (_tail?.Length ?? 0);

    /// <summary>The HMAC of the whole body under the hook's secret.</summary>
    public byte[] Mac { get; internal set; } = [];

    internal void Append(ReadOnlySpan<byte> bytes)
    {
        var room = (int)Math.Max(0, WebhookBody.InMemoryBytes - _head.Length);
        if (room > 0)
        {
            _head.Write(bytes[..Math.Min(room, bytes.Length)]);
            bytes = bytes[Math.Min(room, bytes.Length)..];
        }
        if (bytes.IsEmpty) return;
        if (_tail is null)
        {
            var path = Path.Combine(Path.GetTempPath(), $"hive-webhook-{Guid.NewGuid():N}");
            _tail = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            File.Delete(path);
        }
        _tail.Write(bytes);
    }

    /// <summary>The whole body: for a delivery whose signature matched (a stranger's never gets this far).</summary>
    internal byte[] ReadAll()
    {
        var all = new byte[Length];
        _head.Position = 0;
        _head.ReadExactly(all, 0, (int)_head.Length);
        if (_tail is { } tail)
        {
            tail.Position = 0;
            tail.ReadExactly(all, (int)_head.Length, (int)tail.Length);
        }
        return all;
    }

    public void Dispose()
    {
        _head.Dispose();
        _tail?.Dispose();
    }
}
