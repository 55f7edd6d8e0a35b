using Carter;
using Hive.Contracts.Agents;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Containers;

/// <summary>The operator's agents (list, read, create, configuration, logs), presets, secrets and tombstones: routing only.</summary>
public sealed class AgentsModule : CarterModule
{
    public AgentsModule(IMediator mediator)
    {
        Get("/api/agents", async (req, res) =>
            await res.Ok(await mediator.Send(new ListAgents.Query(req.Query["capability"].FirstOrDefault()), req.HttpContext.RequestAborted)));

        Get("/api/agents/{name}", async (req, res) => await res.Ok(await mediator.Send(new ReadAgent.Query(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted)));

        Post("/api/agents", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<CreateBody>();
            var row = await mediator.Send(new CreateAgent.Command(body.Name, body.Command, body.Driver, body.Purpose, body.Env, body.Restart, body.Mounts, Inputs: body.Inputs,
                AllowedRecipients: body.AllowedRecipients, Secrets: body.Secrets, Preset: body.Preset, Provider: body.Provider,
                Limits: body.Limits, Capabilities: body.Capabilities, Network: body.Network, Egress: body.Egress, EgressAsk: body.EgressAsk, Permissions: body.Permissions,
                Parent: body.Parent, MaySpawn: body.MaySpawn, Providers: body.Providers, Models: body.Models),
                req.HttpContext.RequestAborted);
            await res.Created($"/api/agents/{row.Name}", row);
        });

        Get("/api/presets", async (req, res) => await res.Ok(await mediator.Send(new ListPresets.Query(), req.HttpContext.RequestAborted)));

        Get("/api/agents/{name}/config", async (req, res) =>
            await res.Ok(await mediator.Send(new ReadAgentConfig.Query(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted)));

        Put("/api/agents/{name}/config", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<ConfigBody>();
            var config = new AgentConfig(body.Command, body.Driver, body.Env, body.Purpose, body.Restart, body.Mounts, body.Inputs, body.AllowedRecipients, body.Secrets,
                body.Provider, body.Limits, body.Capabilities, body.Network, body.Egress, body.EgressAsk, body.Permissions,
                body.Parent, body.MaySpawn, body.Providers, body.Models);
            var dryRun = req.Query["dry_run"].FirstOrDefault() is { } flag && (flag is "true" or "1" ? true
                : flag is "false" or "0" ? false : throw new Hive.Shared.Errors.BadRequestException("dry_run is true or false"));
            await res.Ok(await mediator.Send(new ConfigureAgent.Command(ContainerRoutes.Name(req), config, body.Preset, dryRun), req.HttpContext.RequestAborted));
        });

        Get("/api/agents/{name}/logs", async (req, res) =>
        {
            var text = await mediator.Send(new ReadAgentLog.Query(ContainerRoutes.Name(req), req.QueryLong("tail")), req.HttpContext.RequestAborted);
            res.ContentType = "text/plain; charset=utf-8";
            await res.WriteAsync(text, req.HttpContext.RequestAborted);
        });

        Get("/api/tombstones", async (req, res) => await res.Ok(await mediator.Send(new ListTombstones.Query(), req.HttpContext.RequestAborted)));

        // Runs the retention sweep now (what the hourly one would do) and answers what it purged and kept.
        Post("/api/tombstones/sweep", async (req, res) =>
            await res.Ok(await mediator.Send(new SweepTombstones.Command(), req.HttpContext.RequestAborted)));

        Delete("/api/tombstones/{name}", async (req, res) =>
        {
            await mediator.Send(new PurgeTombstone.Command(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted);
            await res.NoContent();
        });

        Get("/api/secrets", async (req, res) => await res.Ok(await mediator.Send(new ListSecrets.Query(), req.HttpContext.RequestAborted)));

        Put("/api/secrets/{name}", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<SecretBody>();
            var (secret, created) = await mediator.Send(new SetSecret.Command(ContainerRoutes.Name(req), body.Value), req.HttpContext.RequestAborted);
            if (created) await res.Created($"/api/secrets/{secret.Name}", secret);
            else await res.Ok(secret);
        });

        Delete("/api/secrets/{name}", async (req, res) =>
        {
            await mediator.Send(new DeleteSecret.Command(ContainerRoutes.Name(req)), req.HttpContext.RequestAborted);
            await res.NoContent();
        });
    }

    private sealed record CreateBody(
        string? Name, IReadOnlyList<string>? Command, string? Driver, string? Purpose, IReadOnlyDictionary<string, string>? Env,
        string? Restart, IReadOnlyList<string>? Mounts, IReadOnlyList<string>? Inputs, IReadOnlyList<string>? AllowedRecipients,
        IReadOnlyDictionary<string, string>? Secrets, string? Preset, string? Provider = null, AgentLimits? Limits = null,
        IReadOnlyList<string>? Capabilities = null, string? Network = null, IReadOnlyList<string>? Egress = null, bool? EgressAsk = null,
        AgentPermissions? Permissions = null, string? Parent = null, AgentSpawnLimits? MaySpawn = null,
        IReadOnlyList<string>? Providers = null, IReadOnlyDictionary<string, string>? Models = null);

    private sealed record ConfigBody(
        IReadOnlyList<string>? Command, string? Driver, string? Purpose, IReadOnlyDictionary<string, string>? Env, string? Restart,
        IReadOnlyList<string>? Mounts, IReadOnlyList<string>? Inputs, IReadOnlyList<string>? AllowedRecipients,
        IReadOnlyDictionary<string, string>? Secrets, string? Preset, string? Provider = null, AgentLimits? Limits = null,
        IReadOnlyList<string>? Capabilities = null, string? Network = null, IReadOnlyList<string>? Egress = null, bool? EgressAsk = null,
        AgentPermissions? Permissions = null, string? Parent = null, AgentSpawnLimits? MaySpawn = null,
        IReadOnlyList<string>? Providers = null, IReadOnlyDictionary<string, string>? Models = null);

    /// <summary>A secret's value: JSON <c>{"value": "…"}</c> (any text but NUL, at most 32 KiB of UTF-8).</summary>
    private sealed record SecretBody(string? Value)
    {
        public override string ToString() => "SecretBody { Value = (hidden) }";
    }
}
