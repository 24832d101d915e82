/**
 * @uws-kit/adapter-archive: the document archive (containers with their signatures, kept
 * temporarily or permanently, in storage plugins) as a UWS application, and its HTTP API.
 *
 * @since 0.1.0
 */
export * as ApiSchemas from "./ApiSchemas.js"
export * as Archive from "./Archive.js"
export * as ArchiveAdapter from "./ArchiveAdapter.js"
export * as ArchiveDate from "./ArchiveDate.js"
export * as ArchiveError from "./ArchiveError.js"
export * as ArchivePages from "./ArchivePages.js"
export * as Container from "./Container.js"
export * as ContainerIndex from "./ContainerIndex.js"
export * as ContainerLifecycle from "./ContainerLifecycle.js"
export * as FilesystemStorage from "./FilesystemStorage.js"
export * as MemoryStorage from "./MemoryStorage.js"
export * as OpenApi from "./OpenApi.js"
export * as PluginConfig from "./PluginConfig.js"
export * as PluginLifecycle from "./PluginLifecycle.js"
export * as PluginResultStore from "./PluginResultStore.js"
export * as Plugins from "./Plugins.js"
export * as PostProcessor from "./PostProcessor.js"
export * as Search from "./Search.js"
export * as SignatureUpgrader from "./SignatureUpgrader.js"
export * as Storage from "./Storage.js"
export * as StoragePlugin from "./StoragePlugin.js"
