using System.Text.Json.Serialization;

namespace Hive.Features.Containers;

/// <summary>A commit of the meta repo, for <c>GET /api/meta</c>.</summary>
public sealed record MetaCommit(string Id, string Message, DateTimeOffset At);

/// <summary>A meta file that is not a valid configuration (hand-edited, say): the agent keeps running as it was.</summary>
public sealed class MetaFileException(string message) : Hive.Shared.Errors.HiveException(message, Hive.Shared.Errors.ErrorCodes.Conflict, 409);
