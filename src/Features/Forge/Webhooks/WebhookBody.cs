using Hive.Shared.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Hive.Features.Forge.Webhooks;

/// <summary>A webhook's headers (Forgejo's names, else Gitea's) and its raw body, as signed, read to a cap.</summary>
internal static class WebhookBody
{
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
    /// The body, at most <paramref name="cap"/> bytes: reads up to one byte more, so a larger body is a 413 whatever its
    /// Content-Length claims (a chunked one claims nothing), and never more than that is held. The buffer grows with the
    /// bytes that arrive, never from a claimed length, and the whole body must arrive within <see cref="ReadWithin"/>.
    /// </summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, int cap)
    {
        if (request.ContentLength > cap) throw new TooLargeException($"the body is over {cap} bytes");
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = cap + 1L;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(request.HttpContext.RequestAborted);
        deadline.CancelAfter(ReadWithin);
        var buffer = new byte[Math.Min(cap + 1, 16 * 1024)];
        var read = 0;
        try
        {
            while (true)
            {
                if (read == buffer.Length)
                {
                    if (buffer.Length > cap) throw new TooLargeException($"the body is over {cap} bytes");
                    Array.Resize(ref buffer, (int)Math.Min(cap + 1L, buffer.Length * 2L));
                }
                var n = await request.Body.ReadAsync(buffer.AsMemory(read), deadline.Token);
                if (n == 0) break;
                read += n;
            }
        }
        catch (OperationCanceledException) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            throw new BadRequestException($"the body did not arrive within {ReadWithin.TotalSeconds:0} s");
        }
        return buffer[..read];
    }
}
