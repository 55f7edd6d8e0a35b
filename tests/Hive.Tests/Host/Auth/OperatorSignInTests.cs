using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Hive.Host.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hive.Tests.Host.Auth;

/// <summary>Operator sign-in over HTTP: who may call the API, how the browser signs in, and the same-origin rule.</summary>
public sealed partial class OperatorSignInTests(HiveFixture fixture) : SharedHiveTests(fixture), IClassFixture<HiveFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private string Origin => _hive.BaseAddress.GetLeftPart(UriPartial.Authority);

    /// <summary>Every routed endpoint, with its route parameters filled with plausible values.</summary>
    private List<(string Method, string Path)> Routes()
    {
        var routes = _hive.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (Method: method, Path: Fill(e.RoutePattern.RawText ?? ""))))
            .Distinct()
            .ToList();
        // Not vacuous: the enumeration sees the routes the dashboard and scripts use.
        Assert.Contains(("GET", "/api/state"), routes);
        Assert.Contains(("GET", "/api/events"), routes);
        Assert.Contains(("POST", "/api/messages"), routes);
        Assert.Contains(("DELETE", "/api/reminders/1"), routes);
        return routes;
    }

    private static string Fill(string pattern)
    {
        var path = RouteParameter().Replace(pattern, m =>
            // Id routes parse their id in the route (no :long constraint: a malformed id is a coded 400), so go by the name too.
            m.Groups["name"].Value == "id" || m.Groups["constraint"].Value is var c && (c.Contains("long") || c.Contains("int")) ? "1" : "alice");
        return "/" + path.TrimStart('/');
    }

    [GeneratedRegex(@"\{\**(?<name>\w+)(?<constraint>:[^}]*)?\}")]
    private static partial Regex RouteParameter();

    private static HttpRequestMessage Request(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.ConnectionClose = true; // a HEAD of the event stream would otherwise hold the pooled connection
        if (method is "POST" or "PUT" or "PATCH") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        return request;
    }

    private static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code, string what)
    {
        Assert.True(status == response.StatusCode, $"{what}: {(int)response.StatusCode}, expected {(int)status}");
        Assert.True("application/problem+json" == response.Content.Headers.ContentType?.MediaType, $"{what}: {response.Content.Headers.ContentType}");
        if (response.RequestMessage?.Method == HttpMethod.Head) return; // the same answer, without its body
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(body.Length > 0, $"{what}: no body");
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Every_route_refuses_a_caller_without_credentials_with_401_problem_json()
    {
        using var anonymous = _hive.CreateClient(signedIn: false);
        foreach (var (method, path) in Routes().Where(r => !OperatorAuth.OpenRoutes.Contains(r.Path)
                                                           && !OperatorAuth.OpenPrefixes.Any(p => new PathString(r.Path).StartsWithSegments(p))
                                                           && !(r.Method == "POST" && OperatorAuth.OpenPosts.Contains(r.Path))))
        {
            using var response = await anonymous.SendAsync(Request(method, path), HttpCompletionOption.ResponseHeadersRead);
            await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthorized", $"{method} {path}");
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
        // A push's one-tap link is its own permission: no sign-in, and a token that is not one is simply not found.
        using var link = await anonymous.PostAsync("/act/not-a-token", null);
        Assert.Equal(HttpStatusCode.NotFound, link.StatusCode);
        // The forge's webhook proves itself by its signature (ForgeWebhookTests); with no forge here there is nothing to post to.
        using var hook = await anonymous.PostAsync("/hooks/forgejo", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, hook.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/api/nope")]
    [InlineData("POST", "/api/nope/deeper?x=1")]
    [InlineData("GET", "/api")]
    [InlineData("GET", "/api/")]
    [InlineData("GET", "/API/STATE")]
    [InlineData("DELETE", "/Api/Reminders/1")]
    public async Task Any_path_under_api_is_401_without_credentials_routed_or_not(string method, string path)
    {
        using var anonymous = _hive.CreateClient(signedIn: false);
        using var response = await anonymous.SendAsync(Request(method, path));
        await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthorized", $"{method} {path}");
    }

    [Fact]
    public async Task The_event_stream_is_401_without_credentials()
    {
        using var anonymous = _hive.CreateClient(signedIn: false);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await anonymous.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthorized", "GET /api/events");
    }

    public static TheoryData<string, string> WrongCredentials => new()
    {
        { "Authorization", "Bearer wrong-token-wrong-token-wrong" },
        { "Authorization", "Bearer " },
        { "Authorization", "Basic b3BlcmF0b3I6cGFzc3dvcmQ=" },
        { "Cookie", "hive_session=wrong-session-value" },
        { "Cookie", "hive_session=" },
    };

    [Theory]
    [MemberData(nameof(WrongCredentials))]
    public async Task Wrong_credentials_are_401(string header, string value)
    {
        using var anonymous = _hive.CreateClient(signedIn: false, new HttpClientHandler { UseCookies = false });
        foreach (var path in (string[])["/api/state", "/api/events", "/api/inbox"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation(header, value);
            using var response = await anonymous.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthorized", $"{header}: {value} on {path}");
        }
    }

    [Fact]
    public async Task The_token_is_no_cookie_and_the_session_value_is_no_bearer()
    {
        var session = await SignInAsync();
        using var anonymous = _hive.CreateClient(signedIn: false, new HttpClientHandler { UseCookies = false });

        using var tokenAsCookie = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        tokenAsCookie.Headers.Add("Cookie", $"hive_session={_hive.Token}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(tokenAsCookie)).StatusCode);

        using var sessionAsBearer = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        sessionAsBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", session);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(sessionAsBearer)).StatusCode);

        // A wrong Authorization header is not rescued by a right cookie.
        using var both = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        both.Headers.Add("Cookie", $"hive_session={session}");
        both.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-token-wrong-token-wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(both)).StatusCode);
    }

    [Fact]
    public async Task Bearer_reaches_every_route()
    {
        var state = await _hive.GetJsonAsync("/api/state");
        Assert.True(state.GetProperty("seq").GetInt64() > 0);

        using var http = _hive.CreateClient();
        foreach (var (method, path) in Routes())
        {
            using var response = await http.SendAsync(Request(method, path), HttpCompletionOption.ResponseHeadersRead);
            // Reached the route: whatever it answers to these made-up values, it is not a refusal of the caller.
            Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)response.StatusCode < 500,
                $"{method} {path}: {(int)response.StatusCode}");
        }
        using var unknown = await http.GetAsync("/api/nope");
        await AssertProblem(unknown, HttpStatusCode.NotFound, "not_found", "GET /api/nope with Bearer");
    }

    /// <summary>Opens the sign-in link as a browser would (without following the redirect); returns the session cookie's value.</summary>
    private async Task<string> SignInAsync()
    {
        using var browser = _hive.CreateClient(signedIn: false, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var response = await browser.GetAsync(_hive.SignInUrl!.PathAndQuery);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
        var cookie = Microsoft.Net.Http.Headers.SetCookieHeaderValue.Parse(response.Headers.GetValues("Set-Cookie").Single());
        Assert.Equal("hive_session", cookie.Name.ToString());
        return cookie.Value.ToString();
    }

    [Fact]
    public async Task The_sign_in_link_sets_a_strict_http_only_session_cookie_and_redirects_to_the_page()
    {
        using var browser = _hive.CreateClient(signedIn: false, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var response = await browser.GetAsync(_hive.SignInUrl!.PathAndQuery);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString); // the token leaves the address bar
        Assert.True(response.Headers.CacheControl!.NoStore);
        var cookie = Microsoft.Net.Http.Headers.SetCookieHeaderValue.Parse(response.Headers.GetValues("Set-Cookie").Single());
        Assert.Equal("hive_session", cookie.Name.ToString());
        Assert.True(cookie.HttpOnly);
        Assert.Equal(Microsoft.Net.Http.Headers.SameSiteMode.Strict, cookie.SameSite);
        Assert.Equal("/", cookie.Path.ToString());
        Assert.NotEqual(_hive.Token, cookie.Value.ToString()); // a value derived from the token, not the token
        Assert.DoesNotContain(_hive.Token!, response.Headers.GetValues("Set-Cookie").Single());

        using var withCookie = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        withCookie.Headers.Add("Cookie", $"hive_session={cookie.Value}");
        using var state = await browser.SendAsync(withCookie);
        Assert.Equal(HttpStatusCode.OK, state.StatusCode);
    }

    [Theory]
    [InlineData("?token=not-the-token-not-the-token")]
    [InlineData("?token=")]
    [InlineData("?token")]
    public async Task A_wrong_sign_in_link_sets_no_cookie_and_shows_the_sign_in_screen(string query)
    {
        using var browser = _hive.CreateClient(signedIn: false, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var response = await browser.GetAsync("/" + query);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/#sign-in-failed", response.Headers.Location!.OriginalString);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Two_tokens_in_the_link_sign_nobody_in()
    {
        using var browser = _hive.CreateClient(signedIn: false, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var response = await browser.GetAsync($"/?token={_hive.Token}&token=other");
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    private async Task<HttpResponseMessage> CookiePostAsync(string session, string path, string body, string contentType, params (string Name, string Value)[] headers)
    {
        using var browser = _hive.CreateClient(signedIn: false, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        request.Headers.Add("Cookie", $"hive_session={session}");
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return await browser.SendAsync(request);
    }

    [Fact]
    public async Task A_cross_site_change_with_the_cookie_is_403_and_changes_nothing()
    {
        var session = await SignInAsync();
        var alice = await _hive.NewAgentAsync("alice");
        var evil = "http://evil.example";
        var sameSiteOtherPort = $"http://127.0.0.1:{HostProcess.FreePort()}";
        var attempts = new (string Name, string Value)[][]
        {
            [("Origin", evil)],
            [("Sec-Fetch-Site", "cross-site")],
            [("Sec-Fetch-Site", "cross-site"), ("Origin", evil), ("Sec-Fetch-Mode", "navigate")],
            [("Sec-Fetch-Site", "same-site"), ("Origin", sameSiteOtherPort)], // another server on this machine
            [("Origin", "null")],
            [], // no proof of origin at all
        };
        foreach (var headers in attempts)
        {
            var what = string.Join(", ", headers.Select(h => $"{h.Name}: {h.Value}"));
            using var json = await CookiePostAsync(session, "/api/messages", $$"""{"to":"{{alice}}","body":"csrf json"}""", "application/json", headers);
            await AssertProblem(json, HttpStatusCode.Forbidden, "forbidden", $"JSON post with {what}");
            // What a cross-site <form enctype="text/plain"> sends.
            using var form = await CookiePostAsync(session, "/api/messages", $$"""{"to":"{{alice}}","body":"csrf form"}""", "text/plain", headers);
            await AssertProblem(form, HttpStatusCode.Forbidden, "forbidden", $"text/plain post with {what}");
        }
        Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE body LIKE 'csrf%' OR recipient = @alice", new { alice }));
    }

    [Fact]
    public async Task A_cross_site_retry_or_cancel_of_a_reminder_is_403()
    {
        var session = await SignInAsync();
        await using var alice = await _hive.ConnectAsync(await _hive.NewAgentAsync("alice"));
        var id = (await alice.CallAsync(new { op = "remind", body = "keep me", in_seconds = 3600 })).GetProperty("id").GetInt64();

        using var retry = await CookiePostAsync(session, $"/api/reminders/{id}/retry", "", "text/plain", ("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site"));
        await AssertProblem(retry, HttpStatusCode.Forbidden, "forbidden", "cross-site retry");

        using var browser = _hive.CreateClient(signedIn: false, new HttpClientHandler { UseCookies = false });
        using var cancel = new HttpRequestMessage(HttpMethod.Delete, $"/api/reminders/{id}");
        cancel.Headers.Add("Cookie", $"hive_session={session}");
        cancel.Headers.Add("Origin", "http://evil.example");
        await AssertProblem(await browser.SendAsync(cancel), HttpStatusCode.Forbidden, "forbidden", "cross-site cancel");
        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task A_same_origin_change_with_the_cookie_is_served()
    {
        var session = await SignInAsync();
        var name = await _hive.NewAgentAsync("alice");
        await using var alice = await _hive.ConnectAsync(name);

        using var byFetchMetadata = await CookiePostAsync(session, "/api/messages", $$"""{"to":"{{name}}","body":"from the page 1"}""", "application/json",
            ("Sec-Fetch-Site", "same-origin"), ("Origin", Origin));
        Assert.True(byFetchMetadata.IsSuccessStatusCode, $"{(int)byFetchMetadata.StatusCode}");
        using var byOrigin = await CookiePostAsync(session, "/api/messages", $$"""{"to":"{{name}}","body":"from the page 2"}""", "application/json",
            ("Origin", Origin));
        Assert.True(byOrigin.IsSuccessStatusCode, $"{(int)byOrigin.StatusCode}");

        Assert.Equal("from the page 1", (await alice.RecvAsync())!.Value.GetProperty("body").GetString());
        Assert.Equal("from the page 2", (await alice.RecvAsync())!.Value.GetProperty("body").GetString());

        // Reading needs no origin proof (a cross-site page cannot read the answer, and SameSite keeps the cookie home).
        using var browser = _hive.CreateClient(signedIn: false, new HttpClientHandler { UseCookies = false });
        using var read = new HttpRequestMessage(HttpMethod.Get, "/api/inbox");
        read.Headers.Add("Cookie", $"hive_session={session}");
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(read)).StatusCode);
    }

    [Fact]
    public async Task Bearer_changes_need_no_origin_proof()
    {
        var alice = await _hive.NewAgentAsync("alice");
        using var http = _hive.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages")
        {
            Content = new StringContent($$"""{"to":"{{alice}}","body":"from a script"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Origin", "http://evil.example");
        request.Headers.Add("Sec-Fetch-Site", "cross-site");
        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}");
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:80")]
    [InlineData("127.0.0.1.evil.example")]
    [InlineData("localhost.evil.example")]
    public async Task An_unexpected_Host_is_400_even_with_the_token(string host)
    {
        using var http = _hive.CreateClient();
        foreach (var path in (string[])["/", "/api/state", "/js/main.js"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = host;
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"Host: {host} on {path}: {(int)response.StatusCode}");
        }
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    public async Task The_hosts_own_names_are_served(string host)
    {
        using var http = _hive.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        request.Headers.Host = $"{host}:{_hive.BaseAddress.Port}";
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/index.html")]
    [InlineData("/js/main.js")]
    [InlineData("/js/signin.js")]
    [InlineData("/styles.css")]
    [InlineData("/favicon.svg")]
    [InlineData("/api/state")]
    [InlineData("/no-such-file")]
    public async Task The_page_its_assets_and_the_api_carry_the_hardening_headers(string path)
    {
        using var http = _hive.CreateClient(signedIn: false);
        using var response = await http.GetAsync(path);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task The_page_has_no_inline_script_or_style()
    {
        using var http = _hive.CreateClient(signedIn: false);
        var html = await http.GetStringAsync("/");
        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)[^>]*>", html);    // every script is a file
        Assert.DoesNotMatch(@"<style\b", html);
        Assert.DoesNotMatch(@"\sstyle\s*=", html);
        Assert.DoesNotMatch(@"\son[a-z]+\s*=", html);                   // no inline event handlers
        Assert.DoesNotMatch(@"(href|src)\s*=\s*""(data|javascript):", html);
    }
}
