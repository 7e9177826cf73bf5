"""Licenses: each user holds one of their role's group (full user or stakeholder), within the account's seats."""

from __future__ import annotations

from runner.sandbox.objects import SANDBOX_BASE_URL, Obj, object_id, reference, timestamp
from runner.sandbox.roles import ROLES, STAKEHOLDERS
from runner.sandbox.store import Store

# (name, role group, the roles it licenses)
LICENSES = (
    ("Full User", "FullUser", tuple(role for role in ROLES if role not in STAKEHOLDERS)),
    ("Stakeholder", "Stakeholder", STAKEHOLDERS),
)


_COUNTS = ("current_value", "allocations_available")


class Licensing(Store):
    """The licenses of an account and their allocations to users."""

    def set_license_seats(self, role_group: str, seats: int) -> Obj:
        """Give the account `seats` licenses of `role_group` (FullUser or Stakeholder) in all."""
        license_ = self._license_of(role_group)
        if seats < license_["current_value"]:
            raise ValueError(f"{seats} {license_['name']} seats are fewer than the {license_['current_value']} in use")
        license_["allocations_available"] = seats - license_["current_value"]
        return license_

    def _license(self, user: Obj) -> None:
        license_ = self._license_of(next(group for _, group, roles in LICENSES if user["role"] in roles))
        if license_["allocations_available"] == 0:
            raise ValueError(f"no {license_['name']} license is left for {user['name']}")
        license_["current_value"] += 1
        if license_["allocations_available"] is not None:
            license_["allocations_available"] -= 1
        static = {key: value for key, value in license_.items() if key not in _COUNTS}
        self.license_allocations[user["id"]] = {
            "user": reference(user),
            "license": static,
            "allocated_at": timestamp(self.now),
        }

    def _unlicense(self, user: Obj) -> None:
        allocation = self.license_allocations.pop(user["id"])
        license_ = self.licenses[allocation["license"]["id"]]
        license_["current_value"] -= 1
        if license_["allocations_available"] is not None:
            license_["allocations_available"] += 1

    def _license_of(self, role_group: str) -> Obj:
        """Return the license of `role_group`, made on first use with no limit of seats."""
        for license_ in self.licenses.values():
            if license_["role_group"] == role_group:
                return license_
        name, _, roles = next(entry for entry in LICENSES if entry[1] == role_group)
        license_id = object_id("license", len(self.licenses) + 1)
        license_ = {
            "id": license_id,
            "type": "license",
            "name": name,
            "summary": name,
            "description": f"{name} license",
            "valid_roles": list(roles),
            "role_group": role_group,
            "self": f"{SANDBOX_BASE_URL}/licenses/{license_id}",
            "html_url": f"{self.html_base}/licenses",
            "current_value": 0,
            "allocations_available": None,
        }
        self.licenses[license_["id"]] = license_
        return license_
