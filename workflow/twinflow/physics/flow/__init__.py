"""Blood flow in a rigid vessel (carotid CFD): inflow waveforms, the Womersley solution,
outlet models, wall shear stress and hemodynamic indices, and the case -> settings mapping."""
