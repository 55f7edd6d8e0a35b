using Dapper;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Microsoft.Extensions.Hosting;

namespace Hive.Features.Constellation;

/// <summary>
/// Records the hive's name at the first start with one, and refuses a start that names another: the other hives route
/// mail to the name and its global ids carry it, so renaming a hive would misdeliver or re-deliver.
/// </summary>
internal sealed class HiveIdentity(ConstellationOptions options, IDb db, TimeProvider clock) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO constellation_identity (id, name, recorded_at) VALUES (1, @Name, @now) ON CONFLICT (id) DO NOTHING",
            new { options.Name, now = clock.GetUtcNow() }, cancellationToken: cancellationToken));
        var recorded = await connection.QuerySingleAsync<string>(new CommandDefinition(
            "SELECT name FROM constellation_identity WHERE id = 1", cancellationToken: cancellationToken));
        if (recorded != options.Name)
            throw new HiveStartupException($"Hive:Constellation:Name is {options.Name} but this data dir's hive is named {recorded}: a hive's name cannot change");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
