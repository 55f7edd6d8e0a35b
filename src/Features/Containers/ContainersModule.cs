using Carter;
using Microsoft.AspNetCore.Http;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The operator's agent and tombstone routes: routing only.</summary>
public sealed class ContainersModule : CarterModule
{
    public ContainersModule(IMediator mediator)
    {
        Get("/api/agents", async (req, res) => await res.Ok(await mediator.Send(new ListAgents.Query(), req.HttpContext.RequestAborted)));
        Get("/api/agents/{name}", async (req, res) => await res.Ok(await mediator.Send(new ReadAgent.Query(Name(req)), req.HttpContext.RequestAborted)));

        Post("/api/agents", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<CreateBody>();
            var row = await mediator.Send(new CreateAgent.Command(body.Name, body.Command, body.Driver, body.Purpose, body.Env, body.Restart, body.Mounts, Inputs: body.Inputs,
                AllowedRecipients: body.AllowedRecipients, Secrets: body.Secrets, Preset: body.Preset),
                req.HttpContext.RequestAborted);
            await res.Created($"/api/agents/{row.Name}", row);
        });

        Get("/api/presets", async (req, res) => await res.Ok(await mediator.Send(new ListPresets.Query(), req.HttpContext.RequestAborted)));
        Get("/api/agents/{name}/config", async (req, res) =>
            await res.Ok(await mediator.Send(new ReadAgentConfig.Query(Name(req)), req.HttpContext.RequestAborted)));
        Put("/api/agents/{name}/config", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<ConfigBody>();
            var config = new AgentConfig(body.Command, body.Driver, body.Env, body.Purpose, body.Restart, body.Mounts, body.Inputs, body.AllowedRecipients, body.Secrets);
            var dryRun = req.Query["dry_run"].FirstOrDefault() is { } flag && (flag is "true" or "1" ? true
                : flag is "false" or "0" ? false : throw new Hive.Shared.Errors.BadRequestException("dry_run is true or false"));
            await res.Ok(await mediator.Send(new ConfigureAgent.Command(Name(req), config, body.Preset, dryRun), req.HttpContext.RequestAborted));
        });

        Post("/api/agents/{name}/start", async (req, res) =>
            await res.Ok(await mediator.Send(new StartAgent.Command(Name(req)), req.HttpContext.RequestAborted)));
        Post("/api/agents/{name}/stop", async (req, res) =>
            await res.Ok(await mediator.Send(new StopAgent.Command(Name(req)), req.HttpContext.RequestAborted)));
        Post("/api/agents/{name}/restart", async (req, res) =>
            await res.Ok(await mediator.Send(new RestartAgent.Command(Name(req)), req.HttpContext.RequestAborted)));

        Delete("/api/agents/{name}", async (req, res) =>
        {
            await mediator.Send(new DestroyAgent.Command(Name(req)), req.HttpContext.RequestAborted);
            await res.NoContent();
        });

        Get("/api/agents/{name}/logs", async (req, res) =>
        {
            var text = await mediator.Send(new ReadAgentLog.Query(Name(req), req.QueryLong("tail")), req.HttpContext.RequestAborted);
            res.ContentType = "text/plain; charset=utf-8";
            await res.WriteAsync(text, req.HttpContext.RequestAborted);
        });

        Get("/api/tombstones", async (req, res) => await res.Ok(await mediator.Send(new ListTombstones.Query(), req.HttpContext.RequestAborted)));

        Delete("/api/tombstones/{name}", async (req, res) =>
        {
            await mediator.Send(new PurgeTombstone.Command(Name(req)), req.HttpContext.RequestAborted);
            await res.NoContent();
        });

        Get("/api/meta", async (req, res) => await res.Ok(await mediator.Send(new ReadMeta.Query(), req.HttpContext.RequestAborted)));
        Post("/api/meta/update", async (req, res) => await res.Ok(await mediator.Send(new UpdateMetaInputs.Command(), req.HttpContext.RequestAborted)));
        Put("/api/meta/inputs/{name}", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<InputBody>();
            await res.Ok(await mediator.Send(new UpdateMetaInputs.Command(Name(req), body.Source), req.HttpContext.RequestAborted));
        });

        Get("/api/approvals", async (req, res) =>
            await res.Ok(await mediator.Send(new ListApprovals.Query(req.Query["status"].FirstOrDefault(), req.QueryLong("before"), req.QueryLong("limit")),
                req.HttpContext.RequestAborted)));
        Post("/api/approvals/{id}/approve", async (req, res) =>
            await res.Ok(await mediator.Send(new ApproveApproval.Command(req.RouteLong("id"), (await DecisionAsync(req)).Reason), req.HttpContext.RequestAborted)));
        Post("/api/approvals/{id}/deny", async (req, res) =>
            await res.Ok(await mediator.Send(new DenyApproval.Command(req.RouteLong("id"), (await DecisionAsync(req)).Reason), req.HttpContext.RequestAborted)));

        // The operator's secrets: names and dates out, values only in (never answered back).
        Get("/api/secrets", async (req, res) => await res.Ok(await mediator.Send(new ListSecrets.Query(), req.HttpContext.RequestAborted)));
        Put("/api/secrets/{name}", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<SecretBody>();
            var (secret, created) = await mediator.Send(new SetSecret.Command(Name(req), body.Value), req.HttpContext.RequestAborted);
            if (created) await res.Created($"/api/secrets/{secret.Name}", secret);
            else await res.Ok(secret);
        });
        Delete("/api/secrets/{name}", async (req, res) =>
        {
            await mediator.Send(new DeleteSecret.Command(Name(req)), req.HttpContext.RequestAborted);
            await res.NoContent();
        });
    }

    private static string Name(HttpRequest req) => req.RouteValues["name"]?.ToString() ?? "";

    /// <summary>A decision's body: optional (an empty body is fine, whatever its content type), <c>{reason}</c> when given.</summary>
    private static async Task<DecisionBody> DecisionAsync(HttpRequest req) =>
        req.ContentLength == 0 || (req.ContentLength is null && !req.HasJsonContentType()) ? new DecisionBody(null) : await req.ReadBodyAsync<DecisionBody>();

    private sealed record DecisionBody(string? Reason);

    private sealed record InputBody(string? Source);

    private sealed record CreateBody(
        string? Name, IReadOnlyList<string>? Command, string? Driver, string? Purpose, IReadOnlyDictionary<string, string>? Env,
        string? Restart, IReadOnlyList<string>? Mounts, IReadOnlyList<string>? Inputs, IReadOnlyList<string>? AllowedRecipients,
        IReadOnlyDictionary<string, string>? Secrets, string? Preset);

    private sealed record ConfigBody(
        IReadOnlyList<string>? Command, string? Driver, string? Purpose, IReadOnlyDictionary<string, string>? Env, string? Restart,
        IReadOnlyList<string>? Mounts, IReadOnlyList<string>? Inputs, IReadOnlyList<string>? AllowedRecipients,
        IReadOnlyDictionary<string, string>? Secrets, string? Preset);

    /// <summary>A secret's value: JSON <c>{"value": "…"}</c> (any text but NUL, at most 32 KiB of UTF-8).</summary>
    private sealed record SecretBody(string? Value)
    {
        public override string ToString() => "SecretBody { Value = (hidden) }";
    }
}
