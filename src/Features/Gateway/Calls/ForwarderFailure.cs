using Yarp.ReverseProxy.Forwarder;

namespace Hive.Features.Gateway.Calls;

/// <summary>What went wrong on the way to a provider, in a sentence for the agent's error and the call's row.</summary>
internal static class ForwarderFailure
{
    public static string Describe(ForwarderError error, Exception? exception, Provider provider)
    {
        var host = provider.Upstream.Authority;
        var inner = exception;
        while (inner?.InnerException is not null && inner is not System.Net.Sockets.SocketException) inner = inner.InnerException;
        var why = inner switch
        {
            System.Net.Sockets.SocketException s => s.SocketErrorCode switch
            {
                System.Net.Sockets.SocketError.ConnectionRefused => "connection refused",
                System.Net.Sockets.SocketError.HostNotFound => "host not found",
                System.Net.Sockets.SocketError.TimedOut => "connect timed out",
                _ => s.Message,
            },
            null => error.ToString(),
            _ => inner.Message,
        };
        return error switch
        {
            ForwarderError.RequestTimedOut => $"{host} did not answer within the gateway's timeout",
            ForwarderError.Request => $"{why} to {host}",
            _ => $"{error}: {why} ({host})",
        };
    }
}
