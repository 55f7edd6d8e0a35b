using System.Data;
using Dapper;
using Hive.Shared.Json;

namespace Hive.Shared.Data;

/// <summary>Dapper's global configuration: set once, before the first query, because Dapper caches its readers.</summary>
public static class DapperSetup
{
    private static int _configured;

    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1) return;
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        SqlMapper.AddTypeHandler(new UtcTimestampHandler());
        SqlMapper.AddTypeHandler(new GuidHandler());
    }

    /// <summary>Times are stored as the wire's text form, so they sort, compare and read back identically.</summary>
    private sealed class UtcTimestampHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value)
        {
            parameter.DbType = DbType.String;
            parameter.Value = UtcTimestamp.Format(value);
        }

        public override DateTimeOffset Parse(object value) => UtcTimestamp.Parse((string)value);
    }

    private sealed class GuidHandler : SqlMapper.TypeHandler<Guid>
    {
        public override void SetValue(IDbDataParameter parameter, Guid value) => parameter.Value = value;
        public override Guid Parse(object value) => Guid.Parse((string)value);
    }
}
