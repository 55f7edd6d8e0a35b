using System.Text;
using Hive.Host;
using Hive.Host.Auth;
using Hive.Shared.Errors;
using Microsoft.Net.Http.Headers;

namespace Hive.Tests.Host.Auth;

/// <summary>
/// The session cookie lasts <c>Hive:Auth:SessionDays</c> (a persistent cookie, its age checked by the
/// host too, from the issue time signed into it), and <c>POST /api/sign-out</c> makes the browser forget it.
/// </summary>
public sealed class SessionCookieTests(HiveFixture fixture) : SharedHiveTests(fixture), IClassFixture<HiveFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private string Origin => _hive.BaseAddress.GetLeftPart(UriPartial.Authority);

    private static HttpClient Browser(HiveInstance hive) =>
        hive.CreateClient(signedIn: false, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });

    /// <summary>Opens the sign-in link as a browser would (without following the redirect); returns the Set-Cookie.</summary>
    private static async Task<SetCookieHeaderValue> SignInAsync(HiveInstance hive)
    {
        using var browser = Browser(hive);
        using var response = await browser.GetAsync(hive.SignInUrl!.PathAndQuery);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var cookie = SetCookieHeaderValue.Parse(response.Headers.GetValues("Set-Cookie").Single());
        Assert.Equal(OperatorAuthMiddleware.CookieName, cookie.Name.ToString());
        return cookie;
    }

    private static async Task<HttpResponseMessage> WithCookieAsync(HiveInstance hive, HttpMethod method, string path, string session, params (string, string)[] headers)
    {
        using var browser = Browser(hive);
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", $"{OperatorAuthMiddleware.CookieName}={session}");
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        if (method == HttpMethod.Post) request.Content = new StringContent("", Encoding.UTF8, "text/plain");
        return await browser.SendAsync(request);
    }

    private static Task<HttpResponseMessage> StateAsync(HiveInstance hive, string session) => WithCookieAsync(hive, HttpMethod.Get, "/api/state", session);

    /// <summary>The Set-Cookie of a response that tells the browser to drop its session: the same name and path, expired.</summary>
    private static void AssertForgets(HttpResponseMessage response)
    {
        var cookie = SetCookieHeaderValue.Parse(response.Headers.GetValues("Set-Cookie").Single());
        Assert.Equal(OperatorAuthMiddleware.CookieName, cookie.Name.ToString());
        Assert.Equal("", cookie.Value.ToString());
        Assert.Equal("/", cookie.Path.ToString());
        Assert.True(cookie.Expires < DateTimeOffset.UtcNow, $"expires {cookie.Expires}");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteMode.Strict, cookie.SameSite);
    }

    [Fact]
    public async Task The_session_cookie_is_persistent_for_thirty_days_by_default_and_keeps_its_flags()
    {
        var before = DateTimeOffset.UtcNow;
        var cookie = await SignInAsync(_hive);
        Assert.Equal(TimeSpan.FromDays(30), cookie.MaxAge);
        Assert.NotNull(cookie.Expires);
        Assert.InRange(cookie.Expires!.Value, before.AddDays(30).AddSeconds(-2), DateTimeOffset.UtcNow.AddDays(30).AddSeconds(2));
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteMode.Strict, cookie.SameSite);
        Assert.Equal("/", cookie.Path.ToString());
        Assert.DoesNotContain(_hive.Token!, cookie.Value.ToString());
        using var state = await StateAsync(_hive, cookie.Value.ToString());
        Assert.Equal(HttpStatusCode.OK, state.StatusCode);
    }

    [Fact]
    public async Task A_session_older_than_its_days_issued_in_the_future_or_tampered_with_is_401_and_forgotten()
    {
        var sameToken = new OperatorToken(_hive.Token!, TimeSpan.FromDays(30));
        var now = DateTimeOffset.UtcNow;

        using (var young = await StateAsync(_hive, sameToken.NewSession(now.AddDays(-29))))
            Assert.Equal(HttpStatusCode.OK, young.StatusCode); // signed by the same token: the host takes it

        foreach (var (session, what) in new[]
                 {
                     (sameToken.NewSession(now.AddDays(-30).AddMinutes(-1)), "issued 30 days and a minute ago"),
                     (sameToken.NewSession(now.AddDays(-400)), "issued 400 days ago"),
                     (sameToken.NewSession(now.AddHours(1)), "issued an hour from now"),
                 })
        {
            using var response = await StateAsync(_hive, session);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode}");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(ErrorCodes.Unauthorized, problem.GetProperty("code").GetString());
            Assert.Contains("session has ended", problem.GetProperty("detail").GetString());
            AssertForgets(response);
        }

        // A current cookie with its issue time moved (to make an old session young again) no longer matches its signature.
        var parts = (await SignInAsync(_hive)).Value.ToString().Split('.');
        Assert.Equal(3, parts.Length);
        var tampered = string.Join('.', parts[0], (long.Parse(parts[1]) + 1).ToString(), parts[2]);
        using (var response = await StateAsync(_hive, tampered))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.DoesNotContain("session has ended", await response.Content.ReadAsStringAsync());
            AssertForgets(response);
        }
        // The old format (an id and its signature, no issue time) and a session of another token are refused alike.
        using (var old = await StateAsync(_hive, parts[0] + "." + parts[2])) Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        var otherToken = new OperatorToken("another-operator-token-0123456789", TimeSpan.FromDays(30));
        using (var other = await StateAsync(_hive, otherToken.NewSession(now))) Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
    }

    [Fact]
    public async Task Sign_out_forgets_the_cookie_needs_the_same_origin_and_cannot_revoke_a_copy()
    {
        var session = (await SignInAsync(_hive)).Value.ToString();

        // A cookie-signed change from another origin is refused, as every other is.
        using (var crossSite = await WithCookieAsync(_hive, HttpMethod.Post, "/api/sign-out", session, ("Sec-Fetch-Site", "cross-site"), ("Origin", "http://evil.example")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);
            Assert.False(crossSite.Headers.Contains("Set-Cookie"));
        }

        using (var signOut = await WithCookieAsync(_hive, HttpMethod.Post, "/api/sign-out", session, ("Sec-Fetch-Site", "same-origin"), ("Origin", Origin)))
        {
            Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
            AssertForgets(signOut);
        }

        // The host stores no sessions, so it cannot revoke one: a copy of the value taken before the sign-out still
        // works until it expires (NOTES.md, "Operator sign-in"; replacing the token ends every session).
        using var copy = await StateAsync(_hive, session);
        Assert.Equal(HttpStatusCode.OK, copy.StatusCode);

        using var anonymous = await Browser(_hive).PostAsync("/api/sign-out", null);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task SessionDays_sets_the_cookies_lifetime_and_the_hosts_limit()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Auth:SessionDays", "1");
        var cookie = await SignInAsync(hive);
        Assert.Equal(TimeSpan.FromDays(1), cookie.MaxAge);
        var sameToken = new OperatorToken(hive.Token!, TimeSpan.FromDays(365));
        using (var young = await StateAsync(hive, sameToken.NewSession(DateTimeOffset.UtcNow.AddHours(-23))))
            Assert.Equal(HttpStatusCode.OK, young.StatusCode);
        using (var old = await StateAsync(hive, sameToken.NewSession(DateTimeOffset.UtcNow.AddHours(-25))))
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode); // the host's limit, not the one it was made with
    }

    [Fact]
    public async Task Replacing_the_token_ends_every_session()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-replace-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            string session;
            await using (var first = await HiveInstance.StartOnAsync(dataDir, ["alice"], ["--Hive:Auth:Token", "the-first-operator-token-0123456789"]))
            {
                session = (await SignInAsync(first)).Value.ToString();
                using var before = await StateAsync(first, session);
                Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            }
            await using var second = await HiveInstance.StartOnAsync(dataDir, ["alice"], ["--Hive:Auth:Token", "the-second-operator-token-0123456789"]);
            using var after = await StateAsync(second, session);
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        }
        finally
        {
            await TestDirectories.DeleteAsync(dataDir);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("366")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("a month")]
    [InlineData("")]
    public void SessionDays_outside_1_to_365_is_refused_at_start_up(string value)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "hive-days-" + Guid.NewGuid().ToString("N")[..12]);
        var refused = Assert.Throws<HiveStartupException>(() =>
            HiveHost.Build(["--urls", "http://127.0.0.1:0", "--Hive:DataDir", dataDir, "--Hive:Auth:SessionDays", value]));
        Assert.Equal($"Hive:Auth:SessionDays must be a whole number of days from 1 to 365, not '{value}'", refused.Message);
        Assert.False(Directory.Exists(dataDir)); // refused before anything was made
    }

    [Theory]
    [InlineData("1")]
    [InlineData("365")]
    public async Task SessionDays_at_the_bounds_is_taken(string value)
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Auth:SessionDays", value);
        Assert.Equal(TimeSpan.FromDays(int.Parse(value)), (await SignInAsync(hive)).MaxAge);
    }

    [Fact]
    public async Task With_sign_in_off_sign_out_says_there_is_no_session()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"], "--Hive:Auth:Mode", "none");
        using var http = hive.CreateClient(signedIn: false);
        using var response = await http.PostAsync("/api/sign-out", null);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("sign-in is off", await response.Content.ReadAsStringAsync());
    }
}
