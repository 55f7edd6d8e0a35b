using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// Copies the agent's headers and query upstream but its key (a Gemini client may send it in the query): the provider's real
/// key goes in, in the provider's header. Notes when the request was ready to leave (<see cref="LeftAt"/>, on the call's
/// watch): the gateway's own time before it.
/// </summary>
internal sealed class UpstreamTransformer(string protocol, string? key, ProviderLimits limits, string provider, Stopwatch watch) : HttpTransformer
{
    public TimeSpan? LeftAt { get; private set; }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix,
        CancellationToken cancellationToken)
    {
        if (protocol == ProviderProtocols.Gemini) httpContext.Request.QueryString = ModelCallRequest.WithoutKey(httpContext.Request.Query);
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        proxyRequest.Headers.Remove("x-api-key");
        proxyRequest.Headers.Remove("api-key");
        proxyRequest.Headers.Remove("x-goog-api-key");
        proxyRequest.Headers.Authorization = null;
        if (key is not null)
        {
            if (protocol == ProviderProtocols.OpenAi) proxyRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            else proxyRequest.Headers.TryAddWithoutValidation(protocol == ProviderProtocols.Gemini ? "x-goog-api-key" : "x-api-key", key);
        }
        LeftAt = watch.Elapsed;
    }

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is not null && proxyResponse.IsSuccessStatusCode) limits.Keep(provider, proxyResponse.Headers);
        return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
    }
}
