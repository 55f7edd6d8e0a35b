using System.Text;
using Hive.Features.Egress.Proxy;

namespace Hive.Tests.Features.Egress;

/// <summary>The egress proxy's reading of a request head: the two forms it takes, what it refuses, and what the origin gets.</summary>
public sealed class ProxyHeadTests
{
    private static ProxyHead? Parse(string head, out int status, out string? problem) =>
        ProxyHead.TryParse(Encoding.UTF8.GetBytes(head), out status, out problem);

    [Theory]
    [InlineData("CONNECT github.com:443 HTTP/1.1\r\nHost: github.com:443\r\n\r\n", "github.com:443")]
    [InlineData("CONNECT GitHub.COM.:8443 HTTP/1.0\r\n\r\n", "github.com:8443")]
    [InlineData("CONNECT [2001:db8::1]:22 HTTP/1.1\r\n\r\n", "[2001:db8::1]:22")]
    public void A_connect_names_its_target_in_authority_form(string head, string target)
    {
        var parsed = Parse(head, out _, out var problem);
        Assert.Null(problem);
        Assert.True(parsed!.IsConnect);
        Assert.Equal(target, parsed.Target.ToString());
    }

    [Theory]
    [InlineData("GET http://deb.example.org/dists/x?a=1 HTTP/1.1\r\n\r\n", "deb.example.org:80", "/dists/x?a=1")]
    [InlineData("HEAD http://Example.ORG:8080 HTTP/1.1\r\n\r\n", "example.org:8080", "/")]
    [InlineData("GET http://example.org?q HTTP/1.1\r\n\r\n", "example.org:80", "/?q")]
    [InlineData("POST http://[2001:db8::1]/up HTTP/1.1\r\nContent-Length: 3\r\n\r\n", "[2001:db8::1]:80", "/up")]
    public void A_plain_http_request_names_its_target_in_absolute_form(string head, string target, string path)
    {
        var parsed = Parse(head, out _, out var problem);
        Assert.Null(problem);
        Assert.False(parsed!.IsConnect);
        Assert.Equal(target, parsed.Target.ToString());
        Assert.Equal(path, parsed.PathAndQuery);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "this is a proxy")]
    [InlineData("GET https://example.org/ HTTP/1.1\r\n\r\n", 400, "CONNECT host:443")]
    [InlineData("CONNECT example.org HTTP/1.1\r\n\r\n", 400, "port is missing")]
    [InlineData("CONNECT 127.1:443 HTTP/1.1\r\n\r\n", 400, "odd form")]
    [InlineData("CONNECT 0x7f.0.0.1:443 HTTP/1.1\r\n\r\n", 400, "odd form")]
    [InlineData("CONNECT 2130706433:443 HTTP/1.1\r\n\r\n", 400, "odd form")]
    [InlineData("GET http://user:pw@example.org/ HTTP/1.1\r\n\r\n", 400, "user information")]
    [InlineData("TRACE http://example.org/ HTTP/1.1\r\n\r\n", 405, "TRACE")]
    [InlineData("GET http://example.org/ HTTP/2\r\n\r\n", 400, "request line")]
    [InlineData("GET  http://example.org/ HTTP/1.1\r\n\r\n", 400, "request line")]
    [InlineData("GET http://example.org/ HTTP/1.1\r\nbad header\r\n\r\n", 400, "header line")]
    [InlineData("POST http://example.org/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "chunked")]
    [InlineData("POST http://example.org/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "Content-Length")]
    public void Anything_else_is_refused_with_its_status_and_why(string head, int status, string why)
    {
        Assert.Null(Parse(head, out var got, out var problem));
        Assert.Equal(status, got);
        Assert.Contains(why, problem);
    }

    [Fact]
    public void The_origin_gets_origin_form_its_own_host_no_proxy_or_hop_by_hop_headers_and_connection_close()
    {
        var parsed = Parse("GET http://example.org/a?b HTTP/1.1\r\nHost: elsewhere.test\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\n" +
            "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nUpgrade: h2c\r\nAccept: */*\r\n\r\n", out _, out _)!;
        Assert.Equal("GET /a?b HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\nConnection: close\r\n\r\n", Encoding.UTF8.GetString(parsed.ToOrigin()));
    }

    [Fact]
    public void The_answer_reaches_the_client_with_connection_close()
    {
        var head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"u8;
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n", Encoding.Latin1.GetString(ProxyHead.ResponseToClient(head)));
    }

    [Fact]
    public void The_head_ends_at_its_blank_line_and_what_follows_is_left_for_the_upstream()
    {
        var bytes = "CONNECT a.test:443 HTTP/1.1\r\n\r\n\u0016\u0003\u0001TLS"u8;
        var end = ProxyHead.EndOf(bytes);
        Assert.Equal("CONNECT a.test:443 HTTP/1.1\r\n\r\n".Length, end);
        Assert.Equal("\u0016\u0003\u0001TLS", Encoding.UTF8.GetString(bytes[end..]));
        Assert.Equal(-1, ProxyHead.EndOf("CONNECT a.test:443 HTTP/1.1\r\n"u8));
    }
}
