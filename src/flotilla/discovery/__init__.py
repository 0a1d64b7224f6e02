"""Service discovery across the clusterset: the Multi-Cluster Services API (KEP-1645) and
``clusterset.local`` DNS.

The hub's controller (``controller``) reads every member's ServiceExports, Services and
EndpointSlices and writes into each member what its data plane serves: ServiceImports
(``exporting``: the KEP's rules; ``allocating``: clusterset IPs) and imported
EndpointSlices (``mirroring``). Each member's DNS server (``dnsserving``) reads only those
objects of its own member (``clustersetzone``), so discovery outlives the hub.
"""
