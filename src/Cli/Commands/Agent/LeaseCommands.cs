using System.CommandLine;
using System.Text.Json.Nodes;
using Hive.Contracts.Work;

namespace Hive.Cli.Commands.Agent;

/// <summary>
/// <c>lease acquire|renew|release|list</c>: advisory leases on a path or a named resource, held by the agent of the socket
/// (<c>--socket</c> or <c>$HIVE_SOCKET</c>). An acquire that someone else's lease blocks exits 1 with the code
/// <c>conflict</c>, naming the holder and until when (with <c>--json</c>, the reply's <c>conflict</c> too), so a script can
/// wait and try again.
/// </summary>
public static class LeaseCommands
{
    public static void AddTo(RootCommand root)
    {
        var lease = new Command("lease", "advisory leases on paths or named resources, held by the agent of the socket");
        lease.Subcommands.Add(Acquire());
        lease.Subcommands.Add(Renew());
        lease.Subcommands.Add(Release());
        lease.Subcommands.Add(List());
        root.Subcommands.Add(lease);
    }

    private static Argument<string> Resource() => new("resource") { Description = "a path or a name (at most 256 characters)" };

    private static Option<int?> Ttl() => new("--ttl") { Description = "seconds the lease lasts unless renewed (1-86400; default 300)" };

    private static Command Acquire()
    {
        var resource = Resource();
        var ttl = Ttl();
        var shared = new Option<bool>("--shared") { Description = "a shared lease: coexists with other shared ones (default: exclusive)" };
        var reason = new Option<string?>("--reason") { Description = "why, for whoever finds it held (at most 500 characters)" };
        var command = new Command("acquire", "take a lease (or renew your own); exit 1 with code conflict when another holder's is in the way")
            { resource, ttl, shared, reason };
        var rest = VerbOptions.AddTo(command, WorkVerbs.LeaseAcquire, "resource", "exclusive", "ttl_seconds", "reason");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["resource"] = cx.Value(resource), ["exclusive"] = !cx.Value(shared) };
            if (cx.Value(ttl) is { } seconds) fields["ttl_seconds"] = seconds;
            if (cx.Value(reason) is { } said) fields["reason"] = said;
            rest.Fill(cx.Parse, fields);
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("lease_acquire", fields, ct);
            if (reply["granted"]?.GetValue<bool>() != true)
            {
                var conflict = reply["conflict"];
                var kind = conflict?["exclusive"]?.GetValue<bool>() == true ? "exclusively" : "shared";
                var why = Text.Str(conflict, "reason") is { Length: > 0 } r ? $" ({r})" : "";
                var error = new CliError("conflict",
                    $"{cx.Value(resource)} is held {kind} by {Text.Str(conflict, "holder")} until {Text.Str(conflict, "expires_at")}{why}");
                error.Data["json"] = new JsonObject { ["granted"] = false, ["resource"] = cx.Value(resource), ["conflict"] = conflict?.DeepClone() };
                throw error;
            }
            return new CliOutput(reply,
                $"leased {Text.Str(reply, "resource")} ({(reply["exclusive"]?.GetValue<bool>() == true ? "exclusive" : "shared")}) until {Text.Str(reply, "expires_at")}");
        });
        return command;
    }

    private static Command Renew()
    {
        var resource = Resource();
        var ttl = Ttl();
        var command = new Command("renew", "extend your live lease to --ttl seconds from now (not_found when it is not yours or has expired)") { resource, ttl };
        var rest = VerbOptions.AddTo(command, WorkVerbs.LeaseRenew, "resource", "ttl_seconds");
        command.SetRun(async (cx, ct) =>
        {
            var fields = new JsonObject { ["resource"] = cx.Value(resource) };
            if (cx.Value(ttl) is { } seconds) fields["ttl_seconds"] = seconds;
            rest.Fill(cx.Parse, fields);
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("lease_renew", fields, ct);
            return new CliOutput(reply, $"renewed {Text.Str(reply, "resource")} until {Text.Str(reply, "expires_at")}");
        });
        return command;
    }

    private static Command Release()
    {
        var resource = Resource();
        var command = new Command("release", "give up your lease") { resource };
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("lease_release", new JsonObject { ["resource"] = cx.Value(resource) }, ct);
            return new CliOutput(reply, $"released {cx.Value(resource)}");
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "every live lease in the hive");
        command.SetRun(async (cx, ct) =>
        {
            await using var socket = await cx.ConnectAsync(ct);
            var reply = await socket.CallAsync("lease_list", ct: ct);
            var leases = reply["leases"] as JsonArray ?? [];
            return new CliOutput(reply, Text.Table(["RESOURCE", "HOLDER", "KIND", "EXPIRES", "REASON"],
                leases.Select(l => (IReadOnlyList<string?>)
                [
                    Text.Str(l, "resource"), Text.Str(l, "holder"), l?["exclusive"]?.GetValue<bool>() == true ? "exclusive" : "shared",
                    Text.Str(l, "expires_at"), Text.Str(l, "reason"),
                ])));
        });
        return command;
    }
}
