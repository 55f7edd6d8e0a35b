using Hive.Shared;
using Hive.Shared.Errors;
using Hive.Shared.Limits;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Hive.Host.Auth;

/// <summary>
/// Operator sign-in and the browser-safety rules around it, wired into the host in two steps: <see cref="Configure"/>
/// before the app is built (refusals, allowed hosts, log filters), <see cref="Use"/> after (the token, the sign-in
/// line, the middleware).
/// </summary>
public static class OperatorAuth
{
    /// <summary>The log category of the sign-in line (which carries the token only when standard output is a terminal).</summary>
    public const string SignInCategory = "Hive.SignIn";

    /// <summary>Where no host can reach without signing in; the page and its assets stay open (they hold no data).</summary>
    public static readonly PathString ApiRoot = "/api";

    /// <summary>Routed endpoints outside <see cref="ApiRoot"/> that need no sign-in (the next issue's health route).</summary>
    public static readonly IReadOnlySet<string> OpenRoutes = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "/healthz" };

    /// <summary>
    /// POSTs to these routed paths need no sign-in: the forge's webhook (<c>/hooks/forgejo</c>), which proves itself by
    /// its signature. The path and the method only: anything else there is guarded as usual.
    /// </summary>
    public static readonly IReadOnlySet<string> OpenPosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { Hive.Features.Forge.Webhooks.ReceiveForgeWebhook.Route };

    /// <summary>Routed endpoints under these need no sign-in: a push's one-tap links, whose token is their only permission.</summary>
    public static readonly PathString[] OpenPrefixes = ["/act"];

    /// <summary>
    /// The pages a sign-in link (<c>?token=</c>) may open: the dashboard and <c>/needs-you</c>. Signing in sends the browser
    /// back to the same page, without the token.
    /// </summary>
    public static readonly IReadOnlySet<string> SignInPages = new HashSet<string>(StringComparer.Ordinal) { "/", StaticPages.NeedsYou };

    public static readonly string[] DefaultAllowedHosts = ["localhost", "127.0.0.1", "[::1]"];

    /// <summary>Reads and checks <c>Hive:Auth</c> and the listen addresses; throws <see cref="HiveStartupException"/> on a refusal.</summary>
    public static void Configure(WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        // Checked before binding, so a value that is not a number is refused in the same words as one out of range.
        var sessionDays = configuration[$"{OperatorAuthOptions.Section}:{nameof(OperatorAuthOptions.SessionDays)}"];
        if (sessionDays is not null && !(int.TryParse(sessionDays.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var days)
                                         && days is >= OperatorAuthOptions.MinSessionDays and <= OperatorAuthOptions.MaxSessionDays))
            throw new HiveStartupException(
                $"Hive:Auth:SessionDays must be a whole number of days from {OperatorAuthOptions.MinSessionDays} to {OperatorAuthOptions.MaxSessionDays}, not '{sessionDays}'");
        var options = configuration.GetSection(OperatorAuthOptions.Section).Get<OperatorAuthOptions>() ?? new OperatorAuthOptions();
        var mode = (options.Mode ?? "").Trim().ToLowerInvariant();
        if (mode is not (OperatorAuthOptions.TokenMode or OperatorAuthOptions.NoneMode))
            throw new HiveStartupException($"Hive:Auth:Mode must be 'token' or 'none', not '{options.Mode}'");

        var addresses = ListenAddresses.From(configuration);
        var exposed = addresses.FirstOrDefault(a => !a.IsLoopback);
        if (mode == OperatorAuthOptions.NoneMode && exposed is not null)
            throw new HiveStartupException(
                $"Hive:Auth:Mode=none is refused because {exposed.Url} is not a loopback address (anyone who can reach it would be the operator): listen on 127.0.0.1 or use Hive:Auth:Mode=token");
        var configuredToken = string.IsNullOrWhiteSpace(options.Token) ? null : options.Token.Trim();
        if (mode == OperatorAuthOptions.TokenMode && configuredToken is not null && OperatorToken.Problem(configuredToken) is { } problem)
            throw new HiveStartupException($"Hive:Auth:Token {problem}");

        // DNS rebinding: only the names this host is known by are served; `AllowedHosts` adds more (`*` turns it off).
        var allowedHosts = DefaultAllowedHosts
            .Concat(addresses.Select(a => a.Host).Where(h => h is { Length: > 0 } and not ("*" or "+")))
            .Concat((configuration["AllowedHosts"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        // Checked by AllowedHostsMiddleware (problem+json, after the security headers); ASP.NET Core's own filter, which runs
        // first and answers with an HTML page, is told to let everything through to it.
        builder.Services.Configure<HostFilteringOptions>(o => o.AllowedHosts = ["*"]);

        // The sign-in line is how the operator finds the way in: it is logged whatever the default level.
        builder.Logging.AddFilter(SignInCategory, LogLevel.Information);
        // ASP.NET Core's request log writes every URL with its query string, and `GET /?token=` carries the token
        // there: it is capped at Warning (where it writes no URLs), so the token is in no log line but the sign-in one.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);

        builder.Services.AddSingleton(new OperatorAuthSettings(mode, configuredToken, addresses, allowedHosts, TimeSpan.FromDays(options.SessionDays)));
        builder.Services.AddSingleton<HttpConnectionBudget>();
        builder.Services.AddSingleton(p => new WrongSignIns(p.GetRequiredService<ConnectionLimits>().WrongSignInsPerMinute,
            p.GetRequiredService<TimeProvider>(), p.GetRequiredService<ILoggerFactory>().CreateLogger(SignInCategory)));
        // Every connection Kestrel accepts passes the budget first (endpoint defaults apply to the --urls addresses too).
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel =>
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(next =>
            {
                var budget = listen.ApplicationServices.GetRequiredService<HttpConnectionBudget>();
                return connection => budget.OnConnectionAsync(connection, next);
            })));
    }

    /// <summary>First in the pipeline, so every request of a connection counts as its activity (an idle connection is one with none running).</summary>
    public static void UseConnectionTracking(WebApplication app)
    {
        var budget = app.Services.GetRequiredService<HttpConnectionBudget>();
        app.Use(next => context => budget.TrackRequestAsync(context, next));
    }

    /// <summary>The page-hardening headers, on every response (the page, its assets, the API and errors alike).</summary>
    public static void UseSecurityHeaders(WebApplication app) => app.UseMiddleware<SecurityHeadersMiddleware>();

    /// <summary>After the security headers, so a refused Host's answer carries them too.</summary>
    public static void UseAllowedHosts(WebApplication app) => app.UseMiddleware<AllowedHostsMiddleware>();

    /// <summary>
    /// After the data dir exists: resolves the token (reading or creating the token file), arranges the sign-in line
    /// for when the server has its addresses, warns about exposed addresses, and adds the sign-in middleware (after
    /// routing, so it sees which endpoint a request reached).
    /// </summary>
    public static void UseOperatorAuth(WebApplication app)
    {
        var settings = app.Services.GetRequiredService<OperatorAuthSettings>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(SignInCategory);

        foreach (var address in settings.Addresses.Where(a => !a.IsLoopback))
            logger.LogWarning(
                "Hive listens on {Address}, which is not a loopback address: the dashboard, the operator API and the event stream are reachable " +
                "from other machines over plain HTTP (the sign-in link and the session cookie travel unencrypted). Browse to it by one of: {AllowedHosts} " +
                "(AllowedHosts adds names)", address.Url, string.Join(", ", settings.AllowedHosts));

        OperatorToken? token = null;
        if (settings.Mode == OperatorAuthOptions.NoneMode)
        {
            logger.LogWarning("Operator sign-in is off (Hive:Auth:Mode=none): any process on this machine can act as the operator");
            // A link kept from a life with sign-in on would carry a token no one needs now.
            File.Delete(Path.Combine(app.Services.GetRequiredService<HivePaths>().DataDir, OperatorToken.SignInLinkFileName));
        }
        else
        {
            var dataDir = app.Services.GetRequiredService<HivePaths>().DataDir;
            var narrowed = false;
            token = new OperatorToken(settings.ConfiguredToken ?? OperatorToken.ReadOrCreate(dataDir, out narrowed), settings.SessionLifetime,
                app.Services.GetRequiredService<TimeProvider>());
            app.Services.GetRequiredService<HttpConnectionBudget>().Token = token;
            if (narrowed) logger.LogWarning("{File} was readable by other users; it is now 0600", Path.Combine(dataDir, OperatorToken.FileName));
            app.Lifetime.ApplicationStarted.Register(() => LogSignInLink(app, token, dataDir, logger));
        }
        app.UseMiddleware<OperatorAuthMiddleware>(new OperatorAuthState(token));
    }

    /// <summary>
    /// <c>POST /api/sign-out</c> (guarded like every /api route, so the cookie needs the same origin): answers with an
    /// expired <c>hive_session</c> cookie, so the browser forgets its session. The session itself stays valid until it
    /// expires (nothing is stored to revoke): a copy of the cookie taken before keeps working; replacing the token ends
    /// every session. With sign-in off there is no session to end: 409.
    /// </summary>
    public static void MapSignOut(WebApplication app)
    {
        var settings = app.Services.GetRequiredService<OperatorAuthSettings>();
        app.MapPost("/api/sign-out", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            if (settings.Mode == OperatorAuthOptions.NoneMode)
                throw new ConflictException("sign-in is off on this hive (Hive:Auth:Mode=none): there is no session to end");
            OperatorAuthMiddleware.ForgetSession(context);
            return Results.NoContent();
        });
    }

    /// <summary>
    /// Once the server knows its real addresses (port 0 included): writes the sign-in link to
    /// <c>&lt;DataDir&gt;/sign-in-link</c> (0600) and logs one line saying where it is. The link itself is in that line only
    /// when standard output is a terminal: a log redirected to a file (<c>nohup … &gt; hive.log</c>, 0644) or a journal is
    /// read by others, and the token in it is the whole operator API.
    /// </summary>
    private static void LogSignInLink(WebApplication app, OperatorToken token, string dataDir, ILogger logger)
    {
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        var address = bound.FirstOrDefault(a => ListenAddresses.Parse(a).IsLoopback) ?? bound.FirstOrDefault();
        if (address is null) return;
        var page = ListenAddresses.Browsable(address) + "/";
        var link = $"{page}?token={Uri.EscapeDataString(token.Value)}";
        var file = Path.Combine(dataDir, OperatorToken.SignInLinkFileName);
        try
        {
            OperatorToken.WritePrivately(file, link + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("{SignInLinkFile} cannot be written ({Reason}): open {Page} and paste the token from {TokenFile}",
                file, e.Message, page, Path.Combine(dataDir, OperatorToken.FileName));
        }
        if (!Console.IsOutputRedirected)
            logger.LogInformation("Sign in to the dashboard: {SignInUrl}", link);
        else
            logger.LogInformation("Sign in to the dashboard: open the link in {SignInLinkFile} (readable by this user only; standard output is not a terminal, " +
                "so the token is not printed), or open {Page} and paste the token from {TokenFile}", file, page, Path.Combine(dataDir, OperatorToken.FileName));
    }
}

/// <summary>What <see cref="OperatorAuth.Configure"/> decided, for the steps after the build (a class: no generated ToString prints the token).</summary>
public sealed class OperatorAuthSettings(string mode, string? configuredToken, IReadOnlyList<ListenAddress> addresses, IReadOnlyList<string> allowedHosts,
    TimeSpan sessionLifetime)
{
    public TimeSpan SessionLifetime { get; } = sessionLifetime;
    public string Mode { get; } = mode;
    public string? ConfiguredToken { get; } = configuredToken;
    public IReadOnlyList<ListenAddress> Addresses { get; } = addresses;
    public IReadOnlyList<string> AllowedHosts { get; } = allowedHosts;
}

/// <summary>The resolved token; null when sign-in is off.</summary>
public sealed class OperatorAuthState(OperatorToken? token)
{
    public OperatorToken? Token { get; } = token;
}
