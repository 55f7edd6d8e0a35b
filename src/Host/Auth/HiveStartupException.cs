namespace Hive.Host.Auth;

/// <summary>A configuration the host refuses to start with; its message is the one line the operator is shown.</summary>
public sealed class HiveStartupException(string message) : Exception(message);
