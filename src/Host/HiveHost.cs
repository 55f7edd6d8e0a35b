using Carter;
using Hive.Contracts.Json;
using Hive.Features.Constellation;
using Hive.Features.Containers;
using Hive.Features.Egress;
using Hive.Features.Forge;
using Hive.Features.Gateway;
using Hive.Features.Governance;
using Hive.Features.Messages;
using Hive.Features.Notifications;
using Hive.Features.Permissions;
using Hive.Features.Questions;
using Hive.Features.Reminders;
using Hive.Features.Search;
using Hive.Features.StateFiles;
using Hive.Features.TurnStats;
using Hive.Features.Work;
using Hive.Host.Auth;
using Hive.Shared;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Limits;
using Hive.Shared.Mediation;

namespace Hive.Host;

/// <summary>The composition root: every registration of the hive, explicit and in one place.</summary>
public static class HiveHost
{
    /// <param name="configureServices">Runs after the hive's registrations (tests add probes here).</param>
    /// <exception cref="Hive.Shared.Errors.HiveStartupException">A start-up the host refuses (its message is one line).</exception>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        // Before any child can be started: a descriptor the host inherited must not reach an agent, git or a probe.
        Hive.Shared.Native.InheritedDescriptors.MarkCloseOnExec();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // Defaults and the page live beside the assembly, so `dotnet Hive.Host.dll` works from any directory.
            ContentRootPath = AppContext.BaseDirectory,
        });

        var services = builder.Services;
        OperatorAuth.Configure(builder);
        Metrics.MetricsListener.Configure(builder); // off unless Hive:Metrics:Urls is set
        services.Configure<HiveOptions>(builder.Configuration.GetSection(HiveOptions.Section));
        services.ConfigureHttpJsonOptions(o => HiveJson.Apply(o.SerializerOptions));
        // Raises RLIMIT_NOFILE to the hard limit and holds every connection cap under its share of it.
        var limits = services.AddHiveLimits(builder.Configuration);
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k =>
        {
            k.Limits.MaxRequestBodySize = 1024 * 1024;
            // The total is HttpConnectionBudget's (it can close an unauthenticated connection to make room; Kestrel's cap
            // can only refuse the newcomer, which may be the operator).
            k.Limits.MaxConcurrentConnections = null;
            k.Limits.MaxConcurrentUpgradedConnections = limits.HttpConnections;
        });

        services.AddHiveData();
        services.AddSingleton(p => DataDirLock.Acquire(p.GetRequiredService<HivePaths>()));
        services.AddHiveDashboard();
        services.AddHiveAgents(HiveFeatures.Assemblies);
        services.AddHiveMediation(HiveFeatures.Assemblies);
        services.AddStateFiles();
        services.AddMessages();
        services.AddReminders();
        services.AddQuestions();
        services.AddContainers();
        services.AddForge();
        services.AddTurnStats();
        services.AddGovernance();
        services.AddNotifications();
        services.AddWork();
        services.AddSearch();
        services.AddConstellation(builder.Configuration); // off unless Hive:Constellation:Name is set
        services.AddGateway();
        services.AddEgress();
        services.AddPermissions();

        services.AddCarter(assemblyCatalog: new HiveAssemblyCatalog(HiveFeatures.Assemblies));
        // Every problem+json carries a code, routing's own 404/405 included.
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
            context.ProblemDetails.Extensions.TryAdd("code", context.ProblemDetails.Status switch
            {
                401 => Hive.Shared.Errors.ErrorCodes.Unauthorized,
                403 => Hive.Shared.Errors.ErrorCodes.Forbidden,
                404 => Hive.Shared.Errors.ErrorCodes.NotFound,
                405 => Hive.Shared.Errors.ErrorCodes.MethodNotAllowed,
                413 => Hive.Shared.Errors.ErrorCodes.TooLarge,
                429 => Hive.Shared.Errors.ErrorCodes.TooMany,
                >= 500 => Hive.Shared.Errors.ErrorCodes.Internal,
                _ => Hive.Shared.Errors.ErrorCodes.BadRequest,
            }));
        services.AddExceptionHandler<HiveExceptionHandler>();
        configureServices?.Invoke(services);

        var app = builder.Build();
        Metrics.MetricsListener.Attach(app.Services); // listening before anything measures
        try
        {
            // Every configured value bound and checked before anything is touched or started.
            ConfigurationProblem.ValidateAll(app.Services, services);
            // One host per data dir: the lock comes before anything in it is touched (the token file, the db, the sockets).
            app.Services.GetRequiredService<DataDirLock>();
            app.Services.PrepareHiveStorage(HiveFeatures.Assemblies);
            var agents = app.Services.GetRequiredService<Hive.Shared.Agents.IAgentDirectory>().List().Select(a => a.Name);
            if (Hive.Shared.Socket.AgentSocketServer.ProblemWith(app.Services.GetRequiredService<HivePaths>(), agents) is { } problem)
                throw new Hive.Shared.Errors.HiveStartupException(problem);
        }
        catch
        {
            ((IDisposable)app).Dispose(); // releases the lock, so a refused in-process start leaves the dir free
            throw;
        }
        app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Hive.Limits")
            .Log(limits.Descriptors.Raised is null ? LogLevel.Warning : LogLevel.Information, "limits: {Limits}", limits);
        // Open dashboards would otherwise hold a graceful stop until its timeout: end their streams when stopping begins.
        // Resolved now: a start that fails (a taken port) stops with the container already disposed.
        var hub = app.Services.GetRequiredService<Hive.Shared.Dashboard.DashboardHub>();
        app.Lifetime.ApplicationStopping.Register(hub.DisconnectAll);

        OperatorAuth.UseConnectionTracking(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        OperatorAuth.UseSecurityHeaders(app);
        OperatorAuth.UseAllowedHosts(app);
        app.UseWebSockets(); // the terminal (GET /api/agents/{name}/terminal)
        app.UseRouting();
        OperatorAuth.UseOperatorAuth(app);
        app.UseMiddleware<AuditMiddleware>();
        StaticPages.UseCleanPaths(app);
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapCarter();
        OperatorAuth.MapSignOut(app);
        return app;
    }

    /// <summary>Carter finds modules in exactly the hive's assemblies, the same under dotnet run, tests and publish.</summary>
    private sealed class HiveAssemblyCatalog(IReadOnlyList<System.Reflection.Assembly> assemblies) : DependencyContextAssemblyCatalog
    {
        public override IReadOnlyCollection<System.Reflection.Assembly> GetAssemblies() => assemblies.ToList();
    }
}
